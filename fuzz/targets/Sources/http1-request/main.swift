// Entry point of the `http1-request` fuzz target.
import FuzzSupport

runFuzzer { fuzzRequest($0, $1) }
