// The byte-class shortcuts (bit-set tchar, word-at-a-time value check) agree with the grammar's plain definitions.

@testable import HTTP
import Testing

@Suite struct ByteClassTests {
    @Test func tokenCharsMatchRFC9110() {
        let tchar = Set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)
        for b in UInt8.min...UInt8.max {
            #expect(ASCII.isTokenChar(b) == tchar.contains(b), "byte \(b)")
        }
    }

    @Test func wordAtATimeValueCheckMatchesBytewise() {
        var rng = SeededRandom(seed: 99)
        let alphabet: [UInt8] = Array(0x20...0x7E) + [0x09, 0x80, 0xC3, 0xFF, 0x7F, 0x00, 0x0D, 0x0A, 0x01, 0x1F]
        for _ in 0..<2000 {
            let count = Int.random(in: 0...40, using: &rng)
            // Mostly valid bytes, so the first invalid one lands anywhere, including deep inside a word.
            let buffer: [UInt8] = (0..<count).map { _ in
                Int.random(in: 0..<30, using: &rng) == 0
                    ? alphabet[Int.random(in: 95..<alphabet.count, using: &rng)]
                    : alphabet[Int.random(in: 0..<97, using: &rng)]
            }
            let lo = Int.random(in: 0...count, using: &rng)
            let expected = (lo..<count).first { !ASCII.isFieldValueByte(buffer[$0]) } ?? count
            #expect(buffer.withUnsafeBytes { ASCII.firstNonFieldValueByte($0, from: lo, to: count) } == expected)
        }
    }

    @Test func caseInsensitiveNameComparison() {
        let raw = bytes("Content-LengthCONTENT-LENGTHcontent_length")
        raw.withUnsafeBytes { p in
            let a = ByteRange(lowerBound: 0, upperBound: 14)
            let b = ByteRange(lowerBound: 14, upperBound: 28)
            let c = ByteRange(lowerBound: 28, upperBound: 42)
            #expect(ASCII.equalsIgnoringCase(p, a, b))
            #expect(!ASCII.equalsIgnoringCase(p, a, c))
            #expect(ASCII.equalsIgnoringCase(p, b, "content-length"))
            #expect(!ASCII.equalsIgnoringCase(p, c, "content-length"))
        }
    }
}
