// Byte classes of the HTTP grammar (RFC 9110 §5.6) and comparisons of buffer ranges against literals.

enum ASCII {
    // Computed rather than stored so they fold to immediates (no lazy global initialisation on the hot path).
    static var cr: UInt8 { 0x0D }
    static var lf: UInt8 { 0x0A }
    static var sp: UInt8 { 0x20 }
    static var htab: UInt8 { 0x09 }
    static var colon: UInt8 { 0x3A }
    static var comma: UInt8 { 0x2C }
    static var semicolon: UInt8 { 0x3B }
    static var slash: UInt8 { 0x2F }
    static var question: UInt8 { 0x3F }

    /// tchar: the characters of a token (method, field name, coding, connection option).
    @inline(__always)
    static func isTokenChar(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
             UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
             UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    /// field-vchar / SP / HTAB / obs-text: everything but the CTLs (CR, LF and NUL included) and DEL.
    @inline(__always)
    static func isFieldValueByte(_ b: UInt8) -> Bool {
        b == htab || (b >= sp && b != 0x7F)
    }

    @inline(__always)
    static func isOWS(_ b: UInt8) -> Bool { b == sp || b == htab }

    @inline(__always)
    static func isDigit(_ b: UInt8) -> Bool { b &- UInt8(ascii: "0") < 10 }

    /// The value of a hex digit, or nil.
    @inline(__always)
    static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return b - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// Exact comparison, for case-sensitive things (methods, the version's "HTTP").
    static func equals(_ p: UnsafeRawBufferPointer, _ r: ByteRange, _ literal: StaticString) -> Bool {
        literal.withUTF8Buffer { lit in
            guard r.count == lit.count else { return false }
            for k in 0..<r.count where p[r.lowerBound + k] != lit[k] { return false }
            return true
        }
    }

    /// Case-insensitive comparison against a lowercase literal made of letters, digits and '-'.
    /// `| 0x20` lowercases letters and leaves '-' and digits alone; no other tchar maps onto a lowercase letter.
    static func equalsIgnoringCase(_ p: UnsafeRawBufferPointer, _ r: ByteRange, _ literal: StaticString) -> Bool {
        literal.withUTF8Buffer { lit in
            guard r.count == lit.count else { return false }
            for k in 0..<r.count where p[r.lowerBound + k] | 0x20 != lit[k] { return false }
            return true
        }
    }

    /// Case-insensitive comparison of two token ranges of the same buffer (a Connection option against a field name).
    static func equalsIgnoringCase(_ p: UnsafeRawBufferPointer, _ a: ByteRange, _ b: ByteRange) -> Bool {
        guard a.count == b.count else { return false }
        for k in 0..<a.count {
            let x = p[a.lowerBound + k], y = p[b.lowerBound + k]
            if x != y && (x | 0x20 != y | 0x20 || !isLetter(x)) { return false }
        }
        return true
    }

    @inline(__always)
    static func isLetter(_ b: UInt8) -> Bool { (b | 0x20) &- UInt8(ascii: "a") < 26 }
}
