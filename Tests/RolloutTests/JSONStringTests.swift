// The shared JSON string escaper: its escapes, UTF-8 kept or written as \u escapes, and both forms parse back.
import Foundation
import Rollout
import Testing

@Suite struct JSONStringTests {
    @Test func quotesBackslashesAndControlCharactersAreEscaped() {
        let controls = "a\"b\\c\n\r\t\u{8}\u{C}\u{1}\u{1F}\u{7F}"
        let expected = #""a\"b\\c\n\r\t\b\f\u0001\u001f\u007f""#
        #expect(JSONString.quoted(controls) == expected)
        #expect(JSONString.quoted(controls, asciiOnly: true) == expected)
    }

    @Test func beyondASCIIStaysUTF8UnlessAsciiOnly() {
        #expect(JSONString.quoted("é—\u{2028}😀") == "\"é—\u{2028}😀\"")
        #expect(JSONString.quoted("é—\u{2028}😀", asciiOnly: true) == #""\u00e9\u2014\u2028\ud83d\ude00""#)
    }

    @Test(arguments: [false, true])
    func everyStringParsesBackAsWritten(asciiOnly: Bool) throws {
        let strings = ["", "plain", "hook \"deploy\" said: naïve\n\u{0}done 😀 <b>", "1/α ≤ 10^2.00", "\u{7F}\u{2029}漢字\\"]
        for string in strings {
            let text = "[" + JSONString.quoted(string, asciiOnly: asciiOnly) + "]"
            let parsed = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String]
            #expect(parsed == [string], "\(text)")
        }
    }
}
