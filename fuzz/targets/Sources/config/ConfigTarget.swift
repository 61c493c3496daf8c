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
    // YAML breaks lines at LF, CR, NEL, LS and PS (libyaml counts a lone CR as a line too), so the bound counts
    // them all (a CRLF twice: a bound, not an exact count); one more line for an error at the end of input.
    let breaks: Set<Unicode.Scalar> = ["\n", "\r", "\u{85}", "\u{2028}", "\u{2029}"]
    let lines = text.unicodeScalars.reduce(1) { $0 + (breaks.contains($1) ? 1 : 0) }
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
