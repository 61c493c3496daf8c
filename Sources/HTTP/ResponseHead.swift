// A parsed upstream response head: offsets into the proxy's buffer plus how its body is framed.

public struct ResponseHead: Sendable, Equatable, ReusableHead {
    public var status: Int
    public var versionMinor: UInt8
    /// May be empty.
    public var reason: ByteRange
    /// `.none` for responses to HEAD and for 1xx, 204 and 304; otherwise chunked, Content-Length or `.untilClose`.
    public var framing: BodyFraming
    /// Whether the upstream connection may be reused after this response's body.
    public var keepAlive: Bool
    /// In received order. Its capacity survives `reset()`, so steady-state parsing does not allocate.
    public var headers: [HeaderField]
    public var headLength: Int

    public init() {
        status = 0
        versionMinor = 1
        reason = ByteRange(lowerBound: 0, upperBound: 0)
        framing = .none
        keepAlive = false
        headers = []
        headLength = 0
    }

    public mutating func reset() { clearKeepingHeaderCapacity() }
}
