// How the proxy talks to an arm's endpoints: the HTTP version, and optional verified TLS.

/// `protocol:` of an arm.
public enum UpstreamProtocol: String, Sendable, Hashable, CaseIterable {
    /// HTTP/1.1 over pooled keep-alive connections (the default).
    case http1
    /// HTTP/2, streams multiplexed over one connection per endpoint and loop (gRPC services): with
    /// prior knowledge over plain TCP (h2c), or with `tls:` negotiated by ALPN.
    case h2
}

/// `tls:` of an arm: the proxy connects to the arm's endpoints over TLS, always verifying the peer's
/// certificate chain and name. `tls: {}` takes both defaults.
public struct UpstreamTLSConfig: Sendable, Hashable {
    /// The name sent as SNI and required in the certificate; nil: each endpoint's own host.
    public var serverName: String?
    /// PEM file of the CAs to trust; nil: the system's trust store.
    public var caFile: String?
    public init(serverName: String? = nil, caFile: String? = nil) { self.serverName = serverName; self.caFile = caFile }
}
