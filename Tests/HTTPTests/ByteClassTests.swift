// The byte-class shortcuts (bit-set tchar, word-at-a-time value check and comparisons) agree with the grammar's plain definitions.

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

    /// The word-at-a-time literal comparisons, at every length they branch on (1 to 19 bytes), placed
    /// between bytes that would change the answer if read: one changed byte anywhere inside flips it.
    @Test func wordAtATimeLiteralComparisonsMatchBytewise() {
        let literals: [StaticString] = [
            "a", "te", "get", "host", "close", "expect", "trailer", "x-arm-12", "keep-alive", "connection",
            "a-b-c-d-e-f", "content-type", "a1b2c3d4e5f6g", "content-length", "x-forwarded-for",
            "x-forwarded-host", "transfer-encoding", "abcdefghijklmnopqr", "access-control-age",
        ]
        for literal in literals {
            let text = literal.withUTF8Buffer { Array($0) }
            for variant in [text, text.map { $0 >= 97 && $0 <= 122 ? $0 - 32 : $0 }] {
                let buffer = [UInt8(ascii: "Z")] + variant + [UInt8(ascii: "Q")]
                let r = ByteRange(lowerBound: 1, upperBound: 1 + variant.count)
                buffer.withUnsafeBytes { p in
                    #expect(ASCII.equalsIgnoringCase(p, r, literal), "\(literal)")
                    #expect(ASCII.equals(p, r, literal) == (variant == text), "\(literal)")
                    #expect(!ASCII.equalsIgnoringCase(p, ByteRange(lowerBound: 0, upperBound: r.upperBound), literal))
                }
                for k in variant.indices {
                    var changed = buffer
                    changed[1 + k] ^= 0x01
                    changed.withUnsafeBytes { p in
                        #expect(!ASCII.equalsIgnoringCase(p, r, literal), "\(literal) byte \(k)")
                        #expect(!ASCII.equals(p, r, literal), "\(literal) byte \(k)")
                    }
                }
            }
        }
    }

    /// Word-at-a-time lowercasing changes exactly the bytes 'A'...'Z', at every length and alignment, and
    /// nothing outside the range.
    @Test func lowercaseInPlaceMatchesBytewise() {
        var rng = SeededRandom(seed: 7)
        for _ in 0..<2000 {
            let count = Int.random(in: 0...40, using: &rng)
            let offset = Int.random(in: 0...7, using: &rng)
            var buffer = (0..<(count + offset + 8)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            var expected = buffer
            for k in offset..<(offset + count) where expected[k] >= 65 && expected[k] <= 90 { expected[k] |= 0x20 }
            buffer.withUnsafeMutableBytes { ASCII.lowercase($0.baseAddress! + offset, count: count) }
            #expect(buffer == expected)
        }
    }
}
