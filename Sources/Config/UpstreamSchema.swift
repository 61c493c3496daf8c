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

/// `outlierDetection:` of a route, for the endpoints of both its arms alike (the arms are compared
/// under the same rules). Passive: it reads the outcomes of real requests, per event loop.
public struct OutlierDetectionConfig: Sendable, Equatable {
    /// Consecutive gateway failures (connect failure, reset, close or timeout before a response, an
    /// invalid response, a 502/503/504) that eject an endpoint; 0 turns ejection off.
    public var consecutiveFailures: Int = 5
    /// An ejection lasts this × the number of recent ejections of the endpoint, …
    public var baseEjectionTime: Duration = .seconds(10)
    /// … at most this.
    public var maxEjectionTime: Duration = .seconds(300)
    /// At most this share (percent, rounded down) of an arm's endpoints is out of rotation at once,
    /// and never its last one: beyond it the arm uses all its endpoints (panic).
    public var maxEjectedPercent: Int = 50
    public init() {}
}

/// `retries:` of a route. A retry goes to the same arm, never the other one.
public struct RetryConfig: Sendable, Equatable {
    /// Retries per request (0: none). A connect failure is retried for any request; a reset or close
    /// after the request was sent only for a body-less idempotent request, before any response byte.
    public var attempts: Int = 1
    /// Retries of an arm (per event loop) are at most this percent of its requests of the last 10 s, …
    public var budgetPercent: Int = 20
    /// … plus this many per second.
    public var minRetriesPerSecond: Int = 3
    public init() {}
}

/// `healthCheck:` of a route: every event loop probes the endpoints of both arms, and an endpoint that
/// failed `fall` probes in a row gets no traffic until it passes `rise` in a row.
public struct HealthCheckConfig: Sendable, Equatable {
    /// What a probe does.
    public enum Probe: Sendable, Equatable {
        /// `GET path` over HTTP/1.1 (TLS with the arm's `tls:`): healthy on a 2xx or 3xx status.
        case http(path: String)
        /// A TCP connect (and the TLS handshake with the arm's `tls:`) that succeeds.
        case tcp
    }
    public var probe: Probe
    public var interval: Duration = .seconds(5)
    /// A probe that has not passed within this fails.
    public var timeout: Duration = .seconds(1)
    public var rise: Int = 2
    public var fall: Int = 3
    public init(probe: Probe) { self.probe = probe }
}
