// Entry point of the `http1-response` fuzz target.
import FuzzSupport

runFuzzer { fuzzResponse($0, $1) }
