// Entry point of the `chunked` fuzz target.
import FuzzSupport

runFuzzer { fuzzChunked($0, $1) }
