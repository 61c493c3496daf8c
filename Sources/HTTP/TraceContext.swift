// W3C Trace Context (level 1) on forwarded requests: a received traceparent checked, a new trace started when it must be.

/// A request's `traceparent` fields as received: none, exactly one (its value), or more than one.
/// Several are invalid (W3C Trace Context §3.2: a vendor MUST treat a traceparent it cannot parse as
/// absent, and two values cannot be one): with `start` they are replaced like a malformed one.
public enum ReceivedTraceParent: Sendable, Equatable {
    case absent
    case one(ByteRange)
    case repeated

    public mutating func add(_ value: ByteRange) {
        if case .absent = self { self = .one(value) } else { self = .repeated }
    }
}

/// The syntax of a `traceparent` value (W3C Trace Context §3.2.2), with §3.2.4's rule for versions
/// this proxy does not know: they are parsed as version 00 over their first 55 bytes, which must be
/// followed by the end of the value or a '-' (later versions may only append fields).
public enum TraceParentSyntax {
    /// `00-` 32 hex `-` 16 hex `-` 2 hex.
    static let length = 55

    public static func isValid(_ v: UnsafeRawBufferPointer) -> Bool {
        guard v.count >= length, let version = lowerHexByte(v, at: 0), version != 0xFF else { return false }
        // Version 00 is exactly its four fields; a later one may carry more, after a dash.
        if version == 0 ? v.count != length : v.count > length && v[length] != dash { return false }
        guard v[2] == dash, v[35] == dash, v[52] == dash, lowerHexByte(v, at: 53) != nil else { return false }
        // An all-zero trace-id or parent-id is invalid (§3.2.2.3, §3.2.2.4).
        return isNonZeroLowerHex(v, 3..<35) && isNonZeroLowerHex(v, 36..<52)
    }

    private static let dash = UInt8(ascii: "-")

    /// The byte two lower-case hex digits at `at` spell; nil when either is not one (upper-case is invalid).
    private static func lowerHexByte(_ v: UnsafeRawBufferPointer, at: Int) -> UInt8? {
        guard let high = lowerHexValue(v[at]), let low = lowerHexValue(v[at + 1]) else { return nil }
        return high << 4 | low
    }

    private static func isNonZeroLowerHex(_ v: UnsafeRawBufferPointer, _ range: Range<Int>) -> Bool {
        var any: UInt8 = 0
        for i in range {
            guard let digit = lowerHexValue(v[i]) else { return false }
            any |= digit
        }
        return any != 0
    }

    @inline(__always)
    private static func lowerHexValue(_ b: UInt8) -> UInt8? {
        if b &- UInt8(ascii: "0") < 10 { return b &- UInt8(ascii: "0") }
        if b &- UInt8(ascii: "a") < 6 { return b &- UInt8(ascii: "a") &+ 10 }
        return nil
    }
}

/// The ids of a trace the proxy starts: a 128-bit trace-id and the 64-bit parent-id of its first hop.
/// Plain integers, written out as hex only into the head being sent (no allocation).
public struct TraceIDs: Sendable, Equatable {
    public var traceHigh: UInt64
    public var traceLow: UInt64
    public var parent: UInt64

    public init(traceHigh: UInt64, traceLow: UInt64, parent: UInt64) {
        self.traceHigh = traceHigh
        self.traceLow = traceLow
        self.parent = parent
    }

    /// Bytes of the `traceparent` value.
    public static let valueLength = 55

    /// `00-<trace-id>-<parent-id>-00`. The flags are 00, not sampled: the proxy records no span, so it
    /// must not tell the upstream that this hop may have recorded trace data (§3.2.2.5.1); an upstream
    /// that samples by its parent's flag then decides as for an unsampled parent (see README).
    @inline(__always)
    func write(into w: inout ByteWriter) {
        // One bounds check, then the digits stored eight at a time (this runs on every request without a
        // traceparent under the default `start`; a digit at a time cost ~8 instructions per digit).
        guard let p = w.reserve(Self.valueLength) else { return }
        p.storeBytes(of: 0x2D30_30, as: UInt32.self)  // "00-" (the fourth byte is overwritten next)
        p.storeBytes(of: Self.hexDigits(UInt32(truncatingIfNeeded: traceHigh >> 32)), toByteOffset: 3, as: UInt64.self)
        p.storeBytes(of: Self.hexDigits(UInt32(truncatingIfNeeded: traceHigh)), toByteOffset: 11, as: UInt64.self)
        p.storeBytes(of: Self.hexDigits(UInt32(truncatingIfNeeded: traceLow >> 32)), toByteOffset: 19, as: UInt64.self)
        p.storeBytes(of: Self.hexDigits(UInt32(truncatingIfNeeded: traceLow)), toByteOffset: 27, as: UInt64.self)
        p.storeBytes(of: UInt8(ascii: "-"), toByteOffset: 35, as: UInt8.self)
        p.storeBytes(of: Self.hexDigits(UInt32(truncatingIfNeeded: parent >> 32)), toByteOffset: 36, as: UInt64.self)
        p.storeBytes(of: Self.hexDigits(UInt32(truncatingIfNeeded: parent)), toByteOffset: 44, as: UInt64.self)
        p.storeBytes(of: 0x302D, toByteOffset: 52, as: UInt16.self)  // "-0"
        p.storeBytes(of: UInt8(ascii: "0"), toByteOffset: 54, as: UInt8.self)
    }

    /// The value into `out`; its length, or nil when it does not fit (for tests and HTTP/2 storage).
    public func write(into out: UnsafeMutableRawBufferPointer) -> Int? {
        var w = ByteWriter(out)
        write(into: &w)
        return w.result
    }

    /// The eight lower-case hex digits of `half`, as the bytes of a word in memory order (little-endian).
    @inline(__always)
    static func hexDigits(_ half: UInt32) -> UInt64 {
        // Spread the nibbles one per byte (the lowest nibble in the lowest byte), then reverse the bytes so
        // the most significant digit comes first in memory.
        var x = UInt64(half)
        x = (x | x << 16) & 0x0000_FFFF_0000_FFFF
        x = (x | x << 8) & 0x00FF_00FF_00FF_00FF
        x = (x | x << 4) & 0x0F0F_0F0F_0F0F_0F0F
        x = x.byteSwapped
        // Bytes are 0...15, so no carry crosses a byte: +6 sets bit 4 exactly for 10...15, which then get
        // 'a' - '0' - 10 = 39 more than a digit.
        let letters = ((x &+ 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101
        return (x &+ 0x3030_3030_3030_3030 &+ letters &* 0x27).littleEndian
    }
}

/// New trace and parent ids for one event loop: wyrand (an add and a 64×64→128 multiply per draw),
/// its state inline and seeded once from the system's generator (getrandom), so starting a trace
/// costs no system call, no lock and no allocation. Not a cryptographic generator: trace ids are
/// correlation ids, not secrets.
public struct TraceIDGenerator: Sendable {
    private var state: UInt64

    /// A fixed seed gives a fixed sequence (tests).
    public init(seed: UInt64) { state = seed }

    public init() {
        var system = SystemRandomNumberGenerator()
        self.init(seed: system.next())
    }

    /// Ids that are never all zeros (an all-zero trace-id or parent-id is invalid).
    public mutating func next() -> TraceIDs {
        var ids = TraceIDs(traceHigh: draw(), traceLow: draw(), parent: draw())
        if ids.traceHigh | ids.traceLow == 0 { ids.traceLow = 1 }
        if ids.parent == 0 { ids.parent = 1 }
        return ids
    }

    @inline(__always)
    private mutating func draw() -> UInt64 {
        state &+= 0xa076_1d64_78bd_642f
        let product = state.multipliedFullWidth(by: state ^ 0xe703_7ed1_a0b4_28db)
        return product.high ^ product.low
    }
}

/// What the proxy does with a request's trace context, decided once when it is routed (so every
/// attempt and a mirrored copy carry the same traceparent).
public enum TraceContext {
    /// The ids of the trace to start, or nil when the request's traceparent and tracestate go on as
    /// received: `starting` off (`traceparent: pass`), or exactly one valid traceparent. Otherwise
    /// (absent, malformed, repeated) the received traceparent and any tracestate are dropped — a
    /// tracestate without a valid parent MUST be discarded (§3.3) — and a new traceparent is sent.
    public static func traceToStart(
        starting: Bool, received: ReceivedTraceParent, in source: UnsafeRawBufferPointer, generator: inout TraceIDGenerator
    ) -> TraceIDs? {
        startsTrace(starting: starting, received: received, in: source) ? generator.next() : nil
    }

    /// Whether `traceToStart` would start a trace. The loops ask this first and only then draw from
    /// their generator: an `inout` access to a loop's stored generator is checked for exclusivity at
    /// run time, which costs a request that keeps its traceparent (or any request under `pass`) for nothing.
    @inline(__always)
    public static func startsTrace(starting: Bool, received: ReceivedTraceParent, in source: UnsafeRawBufferPointer) -> Bool {
        guard starting else { return false }
        if case .one(let value) = received, TraceParentSyntax.isValid(source.slice(value)) { return false }
        return true
    }
}
