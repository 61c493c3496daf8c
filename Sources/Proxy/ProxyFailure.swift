// Why the proxy answered for an upstream (or refused a request), and whose fault it was.

/// Errors carry their source: the analysis counts only upstream faults against an arm.
public enum FailureSource: UInt8, Sendable {
    /// The upstream refused, reset, timed out or answered something invalid.
    case upstream
    /// The client sent something malformed or went away.
    case downstream
    /// The proxy itself (no route, no healthy endpoint, resources).
    case proxy
}

/// A failure the proxy answers with a status of its own; `message` becomes the plain-text body.
public struct ProxyFailure: Sendable, Equatable {
    public var status: Int
    public var message: StaticString
    public var source: FailureSource

    public static func == (a: ProxyFailure, b: ProxyFailure) -> Bool {
        a.status == b.status && a.source == b.source && a.message.utf8Start == b.message.utf8Start
    }

    public static let connectRefused = ProxyFailure(status: 502, message: "upstream connect failed: connection refused", source: .upstream)
    public static let connectFailed = ProxyFailure(status: 502, message: "upstream connect failed", source: .upstream)
    public static let connectTimeout = ProxyFailure(status: 504, message: "upstream connect timeout", source: .upstream)
    public static let upstreamReset = ProxyFailure(status: 502, message: "upstream connection reset", source: .upstream)
    public static let upstreamClosed = ProxyFailure(status: 502, message: "upstream closed the connection before responding", source: .upstream)
    public static let invalidResponse = ProxyFailure(status: 502, message: "invalid response from upstream", source: .upstream)
    public static let responseTimeout = ProxyFailure(status: 504, message: "upstream response timeout", source: .upstream)
    public static let noHealthyEndpoint = ProxyFailure(status: 503, message: "no healthy upstream endpoint", source: .proxy)
    public static let noRoute = ProxyFailure(status: 404, message: "no route matches this request", source: .proxy)
    public static let headerTimeout = ProxyFailure(status: 408, message: "request header timeout", source: .downstream)
    public static let resourceExhausted = ProxyFailure(status: 503, message: "proxy out of resources", source: .proxy)
}
