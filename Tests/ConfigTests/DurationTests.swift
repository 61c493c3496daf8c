// Durations: whole numbers with us, ms, s, m or h, optionally combined; always positive.
import Config
import Testing

@Suite struct DurationTests {
    /// `timeouts.idle` is on line 10 of the result.
    private func withIdle(_ value: String) -> String { minimalConfig + "timeouts:\n  idle: \(value)\n" }

    @Test(arguments: [
        ("250us", Duration.microseconds(250)),
        ("500ms", .milliseconds(500)),
        ("2s", .seconds(2)),
        ("1m", .seconds(60)),
        ("1h", .seconds(3600)),
        ("1h30m", .seconds(5400)),
        ("1m30s500ms", .milliseconds(90_500)),
    ])
    func valid(text: String, expected: Duration) throws {
        #expect(try ConfigLoader.parse(withIdle(text)).timeouts.idle == expected)
    }

    @Test(arguments: [
        ("5", #""5" has no unit; use us, ms, s, m or h, like "5s""#),
        ("5x", #""5x" has an unknown unit "x"; use us, ms, s, m or h"#),
        ("5 s", #""5 s" has an unknown unit " s"; use us, ms, s, m or h"#),
        ("-1s", #""-1s" must be greater than 0"#),
        ("0s", #""0s" must be greater than 0"#),
        ("0h0m", #""0h0m" must be greater than 0"#),
        ("1.5s", #""1.5s": fractions are not supported; use a smaller unit, like "1500ms" for "1.5s""#),
        ("s", #""s" is not a duration like "2s" or "500ms""#),
        (#""""#, #""" is not a duration like "2s" or "500ms""#),
        ("3000000h", #""3000000h" is too large"#),
        ("99999999999999999999s", #""99999999999999999999s" is too large"#),
    ])
    func invalid(text: String, message: String) {
        #expect(problems(withIdle(text)) == ["timeouts.idle: \(message) (line 10)"])
    }
}
