// Entry point of the `config` fuzz target.
import FuzzSupport

runFuzzer { fuzzConfig($0, $1) }
