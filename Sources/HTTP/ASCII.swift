// Byte classes of the HTTP grammar (RFC 9110 §5.6) and comparisons of buffer ranges against literals.

public enum ASCII {
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
        // Bit b of this 128-bit set is 1 for a tchar: one shift instead of a chain of range comparisons.
        let mask: UInt64 = b < 64 ? 0x03FF_6CFA_0000_0000 : 0x57FF_FFFF_C7FF_FFFE
        return b < 128 && (mask >> UInt64(b & 63)) & 1 != 0
    }

    /// field-vchar / SP / HTAB / obs-text: everything but the CTLs (CR, LF and NUL included) and DEL.
    @inline(__always)
    static func isFieldValueByte(_ b: UInt8) -> Bool {
        b == htab || (b >= sp && b != 0x7F)
    }

    /// The offset of the first byte in `lo..<hi` that may not appear in a field value, or `hi`.
    /// Values are most of a head's bytes, so they are checked a word at a time; only a word holding
    /// a byte below 0x20 (a CTL, or HTAB) or DEL is looked at byte by byte.
    static func firstNonFieldValueByte(_ p: UnsafeRawBufferPointer, from lo: Int, to hi: Int) -> Int {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highBits = ones &* 0x80
        var k = lo
        while k < hi {
            if k + 8 <= hi {
                let w = p.loadUnaligned(fromByteOffset: k, as: UInt64.self)
                // Classic SWAR tests: "some byte < 0x20" and "some byte == 0x7F" (as a zero byte of w ^ 0x7F..).
                let below = (w &- ones &* 0x20) & ~w & highBits
                let x = w ^ (ones &* 0x7F)
                let del = (x &- ones) & ~x & highBits
                if below | del == 0 {
                    k += 8
                    continue
                }
                for j in k..<(k + 8) where !isFieldValueByte(p[j]) { return j }
                k += 8
            } else {
                if !isFieldValueByte(p[k]) { return k }
                k += 1
            }
        }
        return hi
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
    @inline(__always)
    static func equals(_ p: UnsafeRawBufferPointer, _ r: ByteRange, _ literal: StaticString) -> Bool {
        guard r.count == literal.utf8CodeUnitCount else { return false }
        if r.count == 0 { return true }
        return literal.withUTF8Buffer { lit in sameBytes(p.baseAddress! + r.lowerBound, lit.baseAddress!, count: r.count, fold: 0) }
    }

    /// Case-insensitive comparison against a lowercase literal made of letters, digits and '-'.
    /// `| 0x20` lowercases letters and leaves '-' and digits alone; no other tchar maps onto a lowercase letter.
    @inline(__always)
    static func equalsIgnoringCase(_ p: UnsafeRawBufferPointer, _ r: ByteRange, _ literal: StaticString) -> Bool {
        guard r.count == literal.utf8CodeUnitCount else { return false }
        if r.count == 0 { return true }
        return literal.withUTF8Buffer { lit in
            sameBytes(p.baseAddress! + r.lowerBound, lit.baseAddress!, count: r.count, fold: 0x2020_2020_2020_2020)
        }
    }

    /// Whether `a | fold` equals `b` over `count` bytes, a word at a time: these comparisons run for
    /// every field of every head (measured: ~90 instructions each byte by byte, through a closure).
    /// Short tails are compared as two overlapping loads, never reading outside either range.
    @inline(__always)
    private static func sameBytes(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, count n: Int, fold: UInt64) -> Bool {
        func word(_ p: UnsafeRawPointer, _ at: Int) -> UInt64 { p.loadUnaligned(fromByteOffset: at, as: UInt64.self) }
        func half(_ p: UnsafeRawPointer, _ at: Int) -> UInt32 { p.loadUnaligned(fromByteOffset: at, as: UInt32.self) }
        func pair(_ p: UnsafeRawPointer, _ at: Int) -> UInt16 { p.loadUnaligned(fromByteOffset: at, as: UInt16.self) }
        if n >= 8 {
            var k = 0
            while k + 8 <= n {
                if word(a, k) | fold != word(b, k) { return false }
                k += 8
            }
            return k == n || word(a, n - 8) | fold == word(b, n - 8)
        }
        if n >= 4 {
            let f = UInt32(truncatingIfNeeded: fold)
            return half(a, 0) | f == half(b, 0) && half(a, n - 4) | f == half(b, n - 4)
        }
        if n >= 2 {
            let f = UInt16(truncatingIfNeeded: fold)
            return pair(a, 0) | f == pair(b, 0) && pair(a, n - 2) | f == pair(b, n - 2)
        }
        return a.load(as: UInt8.self) | UInt8(truncatingIfNeeded: fold) == b.load(as: UInt8.self)
    }

    /// Lowercases the ASCII letters of `count` bytes in place, a word at a time (HTTP/2 needs lower-case
    /// field names; an HTTP/1.1 upstream's are usually capitalised). Other bytes are left as they are.
    public static func lowercase(_ p: UnsafeMutableRawPointer, count n: Int) {
        guard n >= 8 else {
            for k in 0..<n {
                let c = p.load(fromByteOffset: k, as: UInt8.self)
                if c &- 65 < 26 { p.storeBytes(of: c | 0x20, toByteOffset: k, as: UInt8.self) }
            }
            return
        }
        let ones: UInt64 = 0x0101_0101_0101_0101
        func lowered(_ w: UInt64) -> UInt64 {
            // Per byte, on its low 7 bits: >= 'A' and not >= '[' sets bit 7; bytes >= 0x80 are excluded.
            let low = w & (ones &* 0x7F)
            let upper = (low &+ ones &* (0x80 - 0x41)) & ~(low &+ ones &* (0x80 - 0x5B)) & ~w & (ones &* 0x80)
            return w | (upper >> 2)
        }
        var k = 0
        while k + 8 <= n {
            p.storeBytes(of: lowered(p.loadUnaligned(fromByteOffset: k, as: UInt64.self)), toByteOffset: k, as: UInt64.self)
            k += 8
        }
        // The last word again, overlapping: lowercasing twice changes nothing.
        if k < n {
            p.storeBytes(of: lowered(p.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)), toByteOffset: n - 8, as: UInt64.self)
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
