// One field line of a head, as offsets into the parsed buffer, with what the proxy needs to know to forward it.

public struct HeaderField: Sendable, Equatable {
    public var name: ByteRange
    /// Excludes leading and trailing OWS. An empty value is anchored just after the colon, so that the bytes from
    /// `name.lowerBound` to `value.upperBound` are always the field line as received, minus trailing OWS.
    /// Except Content-Length's: the parser narrows it to the canonical digits (see `FramingFields.addContentLength`).
    public var value: ByteRange
    /// Not forwarded: connection-specific (RFC 9110 §7.6.1), or re-created by the writer (X-Forwarded-*, requests only).
    public var isHopByHop: Bool
    /// Which of the fields the parser interprets this is, so later stages need not compare names again.
    public var wellKnown: WellKnownField

    public init(name: ByteRange, value: ByteRange, isHopByHop: Bool, wellKnown: WellKnownField = .other) {
        self.name = name
        self.value = value
        self.isHopByHop = isHopByHop
        self.wellKnown = wellKnown
    }
}

/// The field names that change how a message is parsed or forwarded.
public enum WellKnownField: UInt8, Sendable {
    case other
    case host, contentLength, transferEncoding, expect
    case connection, keepAlive, proxyConnection, te, trailer, upgrade
    case xForwardedFor, xForwardedProto, xForwardedHost, forwarded
    /// W3C trace context: relayed as received, or replaced when the proxy starts a trace (TraceContext).
    case traceparent, tracestate

    /// Field names are case-insensitive (RFC 9110 §5.1); dispatching on length first keeps this to one comparison.
    init(name r: ByteRange, in p: UnsafeRawBufferPointer) {
        let eq = { (literal: StaticString) in ASCII.equalsIgnoringCase(p, r, literal) }
        switch r.count {
        case 2: self = eq("te") ? .te : .other
        case 4: self = eq("host") ? .host : .other
        case 6: self = eq("expect") ? .expect : .other
        case 7: self = eq("trailer") ? .trailer : eq("upgrade") ? .upgrade : .other
        case 9: self = eq("forwarded") ? .forwarded : .other
        case 10:
            // Three names of this length (and user-agent, on nearly every request): the first letter picks
            // the one comparison to make.
            switch p[r.lowerBound] | 0x20 {
            case UInt8(ascii: "c"): self = eq("connection") ? .connection : .other
            case UInt8(ascii: "k"): self = eq("keep-alive") ? .keepAlive : .other
            case UInt8(ascii: "t"): self = eq("tracestate") ? .tracestate : .other
            default: self = .other
            }
        case 11: self = eq("traceparent") ? .traceparent : .other
        case 14: self = eq("content-length") ? .contentLength : .other
        case 15: self = eq("x-forwarded-for") ? .xForwardedFor : .other
        case 16: self = eq("proxy-connection") ? .proxyConnection : eq("x-forwarded-host") ? .xForwardedHost : .other
        case 17: self = eq("transfer-encoding") ? .transferEncoding : eq("x-forwarded-proto") ? .xForwardedProto : .other
        default: self = .other
        }
    }

    /// Dropped from a request whose trace the proxy starts (see `TraceContext.traceToStart`).
    @inline(__always)
    var isTraceContext: Bool { self == .traceparent || self == .tracestate }

    func isHopByHop(inRequest: Bool) -> Bool {
        switch self {
        case .connection, .keepAlive, .proxyConnection, .te, .trailer, .transferEncoding, .upgrade:
            return true
        case .xForwardedFor, .xForwardedProto, .xForwardedHost, .forwarded:
            // A client must not choose what the upstream believes about the connection; the writer sets these
            // (keeping the client's X-Forwarded-For and well-formed Forwarded values ahead of its own).
            return inRequest
        case .other, .host, .contentLength, .expect, .traceparent, .tracestate:
            return false
        }
    }
}
