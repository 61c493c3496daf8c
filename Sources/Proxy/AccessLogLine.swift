// Writes one access-log line into raw memory: plain bytes, decimals, and strings escaped for JSON or for nginx's combined format.

/// A cursor over memory the caller guarantees to be large enough for what it writes: every variable
/// field goes through an escaping call with an output budget (`Budget`), so a line's length has a fixed
/// bound (`AccessLogLine.maxLength`) whatever the request carried.
struct AccessLogLine {
    let base: UnsafeMutableRawPointer
    private(set) var count = 0

    init(base: UnsafeMutableRawPointer) { self.base = base }

    /// Output bytes each variable field may take, escapes included; a longer value is cut (never
    /// inside an escape or a UTF-8 sequence).
    enum Budget {
        static let method = 64
        static let target = 4096
        static let header = 1024
        static let client = 64
        static let name = 256
    }

    /// The longest line: the budgets of the variable fields (target, referer, user agent, method,
    /// client, route, revision, upstream, failure) plus the fixed text around them.
    static let maxLength = Budget.method + Budget.target + 2 * Budget.header + Budget.client + 4 * Budget.name + 512

    @inline(__always)
    mutating func byte(_ b: UInt8) {
        base.storeBytes(of: b, toByteOffset: count, as: UInt8.self)
        count &+= 1
    }

    @inline(__always)
    mutating func raw(_ bytes: UnsafeRawBufferPointer) {
        if bytes.count > 0 { (base + count).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
        count &+= bytes.count
    }

    @inline(__always)
    mutating func text(_ s: StaticString) {
        (base + count).copyMemory(from: s.utf8Start, byteCount: s.utf8CodeUnitCount)
        count &+= s.utf8CodeUnitCount
    }

    /// A config-given name (route, revision, endpoint), escaped like any other value. (Not `withUTF8`:
    /// it is mutating, and its copy of the string costs a uniqueness check and a retain per call.)
    @inline(__always)
    mutating func name(_ s: String, json: Bool) {
        let budget = Budget.name
        _ = s.utf8.withContiguousStorageIfAvailable { utf8 in
            let raw = UnsafeRawBufferPointer(utf8)
            if json { jsonEscaped(raw, budget: budget) } else { combinedEscaped(raw, budget: budget) }
        }
    }

    /// `name`, escaped, or "-" when it is absent or empty.
    mutating func nameOrDash(_ name: String?, json: Bool) {
        if let name, !name.isEmpty { self.name(name, json: json) } else { byte(UInt8(ascii: "-")) }
    }

    mutating func decimal(_ value: UInt64) {
        // Most values of a line (status, small bodies, durations' whole milliseconds) are below 1000.
        if value < 1000 {
            let v = Int(truncatingIfNeeded: value)
            if v >= 100 {
                threeDigits(v)
            } else if v >= 10 {
                byte(UInt8(truncatingIfNeeded: 48 &+ v / 10))
                byte(UInt8(truncatingIfNeeded: 48 &+ v % 10))
            } else {
                byte(UInt8(truncatingIfNeeded: 48 &+ v))
            }
            return
        }
        var digits = 1
        var limit: UInt64 = 10
        while value >= limit && digits < 20 {
            digits &+= 1
            limit = limit &* 10
        }
        var v = value
        var at = count &+ digits
        repeat {
            at &-= 1
            base.storeBytes(of: UInt8(truncatingIfNeeded: 48 &+ v % 10), toByteOffset: at, as: UInt8.self)
            v /= 10
        } while v > 0
        count &+= digits
    }

    /// `value` in `width` digits with leading zeros (dates and times).
    mutating func padded(_ value: Int, width: Int) {
        var v = value
        for i in stride(from: width - 1, through: 0, by: -1) {
            base.storeBytes(of: UInt8(truncatingIfNeeded: 48 + v % 10), toByteOffset: count + i, as: UInt8.self)
            v /= 10
        }
        count &+= width
    }

    /// `value` (0...999) in three digits with leading zeros: unrolled, as every line writes two (the
    /// time's and the duration's milliseconds).
    @inline(__always)
    mutating func threeDigits(_ value: Int) {
        byte(UInt8(truncatingIfNeeded: 48 &+ value / 100))
        byte(UInt8(truncatingIfNeeded: 48 &+ value / 10 % 10))
        byte(UInt8(truncatingIfNeeded: 48 &+ value % 10))
    }

    /// Nanoseconds as milliseconds with three decimals ("12.345"), rounded to the microsecond.
    mutating func milliseconds(nanoseconds: UInt64) {
        let micros = (nanoseconds &+ 500) / 1000
        decimal(micros / 1000)
        byte(UInt8(ascii: "."))
        threeDigits(Int(truncatingIfNeeded: micros % 1000))
    }

    // MARK: escaping

    private static let lowerHex: StaticString = "0123456789abcdef"
    private static let upperHex: StaticString = "0123456789ABCDEF"

    @inline(__always)
    private mutating func hexByte(_ b: UInt8, digits: StaticString) {
        byte(digits.utf8Start[Int(b >> 4)])
        byte(digits.utf8Start[Int(b & 15)])
    }

    /// A JSON string's contents (without its quotes): `"` and `\` escaped, control characters as
    /// `\n`, `\r`, `\t` or `\u00XX`, valid UTF-8 copied as it is, and each byte of invalid UTF-8 as
    /// `\u00XX` (so the line stays valid JSON and the byte can still be told).
    mutating func jsonEscaped(_ bytes: UnsafeRawBufferPointer, budget: Int) {
        if copiedWhole(bytes, budget: budget) { return }
        let end = count + budget
        var i = 0
        while i < bytes.count {
            if copyPlainRun(bytes, from: &i, end: end) { continue }
            let b = bytes[i]
            if Self.isPlain(b) { return }  // no room left for it
            if b >= 0x80, let n = Self.utf8SequenceLength(bytes, at: i) {
                guard count + n <= end else { return }
                for k in 0..<n { byte(bytes[i + k]) }
                i += n
                continue
            }
            switch b {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                guard count + 2 <= end else { return }
                byte(UInt8(ascii: "\\"))
                byte(b)
            case UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"):
                guard count + 2 <= end else { return }
                byte(UInt8(ascii: "\\"))
                byte(b == UInt8(ascii: "\n") ? UInt8(ascii: "n") : b == UInt8(ascii: "\r") ? UInt8(ascii: "r") : UInt8(ascii: "t"))
            default:
                guard count + 6 <= end else { return }
                text("\\u00")
                hexByte(b, digits: Self.lowerHex)
            }
            i += 1
        }
    }

    /// A value inside nginx's combined format, escaped as nginx escapes variables: `"` and `\`, and
    /// bytes outside printable ASCII, as upper-case `\xXX` (a line never holds a raw quote, newline or control byte).
    mutating func combinedEscaped(_ bytes: UnsafeRawBufferPointer, budget: Int) {
        if copiedWhole(bytes, budget: budget) { return }
        let end = count + budget
        var i = 0
        while i < bytes.count {
            if copyPlainRun(bytes, from: &i, end: end) { continue }
            guard !Self.isPlain(bytes[i]), count + 4 <= end else { return }
            byte(UInt8(ascii: "\\"))
            byte(UInt8(ascii: "x"))
            hexByte(bytes[i], digits: Self.upperHex)
            i += 1
        }
    }

    /// Printable ASCII other than `"` and `\`: copied as it is by both formats.
    @inline(__always)
    static func isPlain(_ b: UInt8) -> Bool {
        b &- 0x20 < 0x5F && b != UInt8(ascii: "\"") && b != UInt8(ascii: "\\")
    }

    /// All eight bytes of `word` are plain, tested at once (a third of the instructions of testing them one
    /// by one): no byte below 0x20, none with the high bit, none equal to `"`, `\` or DEL. The `hasLess` and
    /// `hasZero` tests are exact for "some byte of the word", which is all this asks.
    @inline(__always)
    static func allPlain(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        @inline(__always) func hasZero(_ v: UInt64) -> UInt64 { (v &- ones) & ~v & highs }
        let below = (word &- 0x20 &* ones) & ~word & highs
        let special = hasZero(word ^ (0x22 &* ones)) | hasZero(word ^ (0x5C &* ones)) | hasZero(word ^ (0x7F &* ones))
        return (below | special | (word & highs)) == 0
    }

    /// Most values are plain and within their budget: one scan and one copy, without an escape loop's
    /// bookkeeping. False (nothing written) for a value that needs an escape or a cut.
    @inline(__always)
    private mutating func copiedWhole(_ bytes: UnsafeRawBufferPointer, budget: Int) -> Bool {
        guard bytes.count <= budget && Self.plainPrefixLength(bytes) == bytes.count else { return false }
        raw(bytes)
        return true
    }

    /// How many bytes at the start of `bytes` are plain.
    @inline(__always)
    static func plainPrefixLength(_ bytes: UnsafeRawBufferPointer) -> Int {
        var j = 0
        while j &+ 8 <= bytes.count && allPlain(bytes.baseAddress!.loadUnaligned(fromByteOffset: j, as: UInt64.self)) { j &+= 8 }
        while j < bytes.count && isPlain(bytes[j]) { j &+= 1 }
        return j
    }

    /// Copies the plain bytes that start at `i` (as many as fit before `end`) at once and moves `i` past
    /// them: most values are plain. False when none was copied.
    @inline(__always)
    private mutating func copyPlainRun(_ bytes: UnsafeRawBufferPointer, from i: inout Int, end: Int) -> Bool {
        let stop = min(bytes.count, i + max(0, end - count))
        var j = i
        while j &+ 8 <= stop && Self.allPlain(bytes.baseAddress!.loadUnaligned(fromByteOffset: j, as: UInt64.self)) { j &+= 8 }
        while j < stop && Self.isPlain(bytes[j]) { j &+= 1 }
        guard j > i else { return false }
        (base + count).copyMemory(from: bytes.baseAddress! + i, byteCount: j - i)
        count &+= j - i
        i = j
        return true
    }

    /// The length of the well-formed UTF-8 sequence of two to four bytes at `i` (RFC 3629 §4: no
    /// overlong forms, no surrogates, nothing past U+10FFFF), or nil.
    static func utf8SequenceLength(_ bytes: UnsafeRawBufferPointer, at i: Int) -> Int? {
        let lead = bytes[i]
        let length: Int
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; high = 0x9F
        case 0xF0: length = 4; low = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; high = 0x8F
        default: return nil
        }
        guard i + length <= bytes.count else { return nil }
        let second = bytes[i + 1]
        guard second >= low && second <= high else { return nil }
        for k in 2..<length where bytes[i + k] & 0xC0 != 0x80 { return nil }
        return length
    }
}
