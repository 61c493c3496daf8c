// Why the proxy answered a request itself, and (for upstream faults) which failure to count against the arm.
import Telemetry

/// A failure the proxy answers with a status of its own; `message` becomes the plain-text body.
/// `kind` is set when an arm was chosen and is at fault (pingora-style: errors carry their source),
/// so the analysis counts only upstream faults against an arm.
public struct ProxyFailure: Error, Sendable, Equatable {
    public var status: Int
    public var message: StaticString
    public var kind: FailureKind?

    public static let connectRefused = ProxyFailure(
        status: 502, message: "upstream connect failed: connection refused", kind: .connectRefused)
    public static let connectFailed = ProxyFailure(status: 502, message: "upstream connect failed", kind: .connectFailed)
    public static let connectTimeout = ProxyFailure(status: 504, message: "upstream connect timeout", kind: .connectTimeout)
    public static let upstreamTLSFailed = ProxyFailure(status: 502, message: "upstream TLS handshake failed", kind: .tlsHandshakeFailed)
    public static let upstreamReset = ProxyFailure(status: 502, message: "upstream connection reset", kind: .upstreamReset)
    public static let upstreamClosed = ProxyFailure(
        status: 502, message: "upstream closed the connection before responding", kind: .upstreamClosed)
    /// An HTTP/2 upstream reset the request's stream (RST_STREAM) before its response ended.
    public static let upstreamStreamReset = ProxyFailure(
        status: 502, message: "upstream reset the stream before responding", kind: .upstreamReset)
    public static let invalidResponse = ProxyFailure(status: 502, message: "invalid response from upstream", kind: .invalidResponse)
    public static let responseTimeout = ProxyFailure(status: 504, message: "upstream response timeout", kind: .responseTimeout)
    public static let noRoute = ProxyFailure(status: 404, message: "no route matches this request", kind: nil)
    public static let headerTimeout = ProxyFailure(status: 408, message: "request header timeout", kind: nil)
    public static let resourceExhausted = ProxyFailure(status: 503, message: "proxy out of resources", kind: nil)
    /// A gRPC request (`content-type: application/grpc…`) over HTTP/1.1 for a route with an HTTP/2
    /// (`protocol: h2`) arm: gRPC needs HTTP/2 trailers end to end, so it is not relayed across versions.
    public static let needsHTTP2 = ProxyFailure(
        status: 505, message: "gRPC needs HTTP/2 end to end: send the request over HTTP/2", kind: nil)
    /// Same status, kind and message text (two failures with one message are the same failure).
    public static func == (a: ProxyFailure, b: ProxyFailure) -> Bool {
        a.status == b.status && a.kind == b.kind
            && a.message.withUTF8Buffer { x in b.message.withUTF8Buffer { y in x.elementsEqual(y) } }
    }

    public static let headTooLarge = ProxyFailure(status: 431, message: "request header fields too large", kind: nil)
}
