// Fuzz target `config`: ConfigLoader.parse over arbitrary UTF-8 text: a config or problems that point into the text.
import Config
import FuzzSupport

/// One input: everything is checked, and a broken invariant aborts (libFuzzer saves the input). Exported under
/// libFuzzer's name too, which its runtime's unused main still refers to.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzConfig(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    // ConfigLoader.load refuses bytes that are not UTF-8 before parsing, so parse never sees them.
    guard let text = String(validating: UnsafeBufferPointer(start: data, count: size), as: UTF8.self) else { return 0 }
    let first = outcome(text)
    invariant(outcome(text) == first, "parsing the same text twice disagreed")
    guard case .failure(let error) = first else { return 0 }
    invariant(!error.problems.isEmpty, "an error without problems")
    // A line one past the last newline is where an unterminated last line or end-of-input error sits.
    let lines = text.utf8.reduce(1) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
    for problem in error.problems {
        invariant(!problem.message.isEmpty, "a problem without a message at \(problem.path)")
        if let line = problem.line {
            invariant(line >= 1 && line <= lines + 1, "problem line \(line) outside 1...\(lines + 1): \(problem)")
        }
    }
    return 0
}

func outcome(_ text: String) -> Result<CanarygateConfig, ConfigError> {
    do throws(ConfigError) {
        return .success(try ConfigLoader.parse(text))
    } catch {
        return .failure(error)
    }
}
