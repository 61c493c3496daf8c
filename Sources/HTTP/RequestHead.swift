// A parsed request head: offsets into the caller's buffer plus the facts the proxy acts on.

public struct RequestHead: Sendable, Equatable, ReusableHead {
    public var method: HTTPMethod
    public var methodRange: ByteRange
    /// What to send upstream, in origin-form: for absolute-form "http://h/p?q" it is "/p?q"; "*" for OPTIONS *.
    /// Absolute-form with an empty path ("http://h" or "http://h?q") leaves it empty or starting with '?';
    /// `HeadWriter` then supplies the "/" (or "*" for OPTIONS) that RFC 9112 §3.2.1/§3.2.4 require.
    public var target: ByteRange
    /// `target` up to, excluding, the first '?'; empty means "/" (see `target`).
    public var path: ByteRange
    /// 0 or 1; HTTP/1.2 and later minors are treated as 1.1 (RFC 9110 §2.5).
    public var versionMinor: UInt8
    /// The Host value, or the authority of an absolute-form target, which overrides Host (RFC 9112 §3.2.2).
    public var host: ByteRange?
    /// `.none`, `.contentLength(n)` or `.chunked`; never `.untilClose`.
    public var framing: BodyFraming
    public var keepAlive: Bool
    /// "Expect: 100-continue" on an HTTP/1.1 request (RFC 9110 §10.1.1 says to ignore it in HTTP/1.0).
    public var expectsContinue: Bool
    /// The request asks to switch to another protocol over this connection (`UpgradeRules.tunnelRequested`):
    /// its Upgrade fields may be forwarded, and a 101 turns the exchange into a tunnel.
    public var upgrade: Bool
    /// The first X-Forwarded-For value. Every X-Forwarded-For field stays in `headers` (marked hop-by-hop)
    /// and `HeadWriter` joins them all, in order, before the client address.
    public var forwardedFor: ByteRange?
    /// The traceparent field(s), for `TraceContext.traceToStart`; every one stays in `headers` too.
    public var traceparent: ReceivedTraceParent
    /// In received order. Its capacity survives `reset()`, so steady-state parsing does not allocate.
    public var headers: [HeaderField]
    /// Bytes of the head, including skipped leading CRLFs and the final CRLF CRLF; the body (or the next
    /// pipelined request) starts here.
    public var headLength: Int

    public init() {
        method = .other
        methodRange = ByteRange(lowerBound: 0, upperBound: 0)
        target = methodRange
        path = methodRange
        versionMinor = 1
        host = nil
        framing = .none
        keepAlive = false
        expectsContinue = false
        upgrade = false
        forwardedFor = nil
        traceparent = .absent
        headers = []
        headLength = 0
    }

    public mutating func reset() { clearKeepingHeaderCapacity() }
}
