// Canarygate's regex dialect for cohort rules: each construct, anchors, and what is refused.
@testable import Config
import Testing

@Suite struct ByteRegexTests {
    private func matches(_ pattern: String, _ value: String) throws -> Bool {
        let regex = try ByteRegex(pattern)
        return Array(value.utf8).withUnsafeBytes { regex.matches($0) }
    }

    private func refusal(_ pattern: String) -> String? {
        do { _ = try ByteRegex(pattern); return nil } catch { return error.message }
    }

    @Test func literalsMatchAnywhereUnlessAnchored() throws {
        #expect(try matches("sider", "insider"))
        #expect(try !matches("Sider", "insider"))
        #expect(try matches("^in", "insider") && !matches("^side", "insider"))
        #expect(try matches("der$", "insider") && !matches("side$", "insider"))
        #expect(try matches("^insider$", "insider") && !matches("^insider$", "insiders"))
        #expect(try !matches("abc", "ab"))
    }

    @Test func dotClassesAndShorthands() throws {
        #expect(try matches("^a.c$", "abc") && !matches("^a.c$", "ac"))
        #expect(try matches("^[a-c]x$", "bx") && !matches("^[a-c]x$", "dx"))
        #expect(try matches("^[^a-c]x$", "dx") && !matches("^[^a-c]x$", "ax"))
        #expect(try matches("^[]x]$", "]") && matches("^[a\\]]$", "]") && matches("^[a-]$", "-"))
        #expect(try matches("^\\d\\w\\s$", "7_ ") && !matches("^\\d$", "x"))
        #expect(try matches("^v1\\.2$", "v1.2") && !matches("^v1\\.2$", "v1x2"))
    }

    @Test func quantifiers() throws {
        #expect(try matches("^ab*c$", "ac") && matches("^ab*c$", "abbbc"))
        #expect(try matches("^ab+c$", "abc") && !matches("^ab+c$", "ac") && matches("^ab+c$", "abbc"))
        #expect(try matches("^ab?c$", "ac") && matches("^ab?c$", "abc") && !matches("^ab?c$", "abbc"))
        #expect(try matches("^.*;canary=always(;.*)?$".replacingOccurrences(of: "(;.*)?", with: "[;]?.*"), "a=1;canary=always"))
        #expect(try matches("^a*a*a*a*a*a*a*a*b$", String(repeating: "a", count: 5000) + "b"))
        #expect(try !matches("^a*a*a*a*a*a*a*a*b$", String(repeating: "a", count: 5000)))
    }

    @Test func anEmptyValueMatchesOnlyWhatMayBeEmpty() throws {
        #expect(try matches("^$", "") && matches("x*", "") && !matches("x", ""))
    }

    @Test func constructsOutsideTheDialectAreRefused() {
        #expect(refusal("a|b")?.hasPrefix("\"|\" is not supported") == true)
        #expect(refusal("a{2}")?.hasPrefix("\"{\" is not supported") == true)
        #expect(refusal("a**") == "\"*\" must follow a character, a class or \".\"")
        #expect(refusal("a^b") == "\"^\" is allowed only at the start")
        #expect(refusal("a$b") == "\"$\" is allowed only at the end")
        #expect(refusal("\\n") == "\"\\n\" is not supported; escapes are \\d, \\w, \\s and \\ before punctuation")
        #expect(refusal("a\\") == "ends with \"\\\"")
        #expect(refusal("[z-a]") == "has the reversed range \"z-a\"")
        #expect(refusal("") == "must not be empty")
        #expect(refusal(String(repeating: "a", count: 64)) == "is longer than 63 characters and classes")
        #expect(refusal(String(repeating: "a", count: 63)) == nil)
    }
}
