// The validated configuration as plain values: what the rest of Canarygate consumes.

/// A host and port as written in the config (`127.0.0.1:9001`, `[::1]:8080`, `0.0.0.0:8080`).
/// The host is kept as text; the proxy resolves it to a socket address off the event loops.
public struct HostPort: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: UInt16
    public init(host: String, port: UInt16) { self.host = host; self.port = port }
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

public struct AdminConfig: Sendable, Equatable {
    public var address: HostPort
    /// Set: every POST needs this bearer token.
    public var operatorToken: AdminToken?
    /// Set: `/status` and `/metrics` need this token or the operator's.
    public var readerToken: AdminToken?
    public init(
        address: HostPort = HostPort(host: "127.0.0.1", port: 9901), operatorToken: AdminToken? = nil, readerToken: AdminToken? = nil
    ) {
        self.address = address; self.operatorToken = operatorToken; self.readerToken = readerToken
    }
}

public struct ListenerConfig: Sendable, Equatable {
    public var name: String
    public var address: HostPort
    /// Present: the listener terminates TLS (1.2 and 1.3) with these certificates.
    public var tls: ListenerTLSConfig?
    /// Whether the listener offers HTTP/2 (on TLS: `h2` in ALPN, before `http/1.1`).
    public var http2: Bool
    /// How accepted connections are spread over the event loops.
    public var balance: AcceptBalance
    /// Client connections this listener keeps open at most (all loops); nil: only `LimitsConfig.maxConnections`.
    public var maxConnections: Int?
    public init(
        name: String, address: HostPort, tls: ListenerTLSConfig? = nil, http2: Bool = true,
        balance: AcceptBalance = .connections, maxConnections: Int? = nil
    ) {
        self.name = name; self.address = address; self.tls = tls; self.http2 = http2; self.balance = balance
        self.maxConnections = maxConnections
    }
}

/// `balance:` of a listener. Every loop has its own SO_REUSEPORT socket, and the kernel hashes each
/// new connection to one of them: with few long-lived connections (HTTP/2, gRPC) one loop may get
/// most of them and saturate its core while another idles.
public enum AcceptBalance: String, Sendable, Hashable, CaseIterable {
    /// The loop that accepted a connection hands it to the loop with the fewest open connections
    /// when it has two or more than that loop (HAProxy and Envoy's `exact_balance` do the same). The default.
    case connections
    /// Each connection stays on the loop whose socket the kernel chose.
    case kernel
}

/// The certificates of a TLS listener, never empty. The first is the default: it serves clients
/// that send no server name (SNI) or one no certificate covers.
public struct ListenerTLSConfig: Sendable, Equatable {
    public var certificates: [CertificateConfig]
    public init(certificates: [CertificateConfig]) { self.certificates = certificates }
}

/// PEM files: a certificate chain (leaf first) and its private key.
public struct CertificateConfig: Sendable, Equatable {
    public var certificate: String
    public var privateKey: String
    public init(certificate: String, privateKey: String) { self.certificate = certificate; self.privateKey = privateKey }
}

/// Durations in nanoseconds-precise `Duration`s. Defaults follow HAProxy/nginx practice.
public struct TimeoutsConfig: Sendable, Equatable {
    /// Time allowed to receive a complete request head (slowloris guard) → 408.
    public var requestHeader: Duration = .seconds(10)
    /// Time allowed for a client's TLS handshake, from accept; the connection is closed after it.
    public var tlsHandshake: Duration = .seconds(10)
    /// An idle keep-alive client connection is closed after this.
    public var idle: Duration = .seconds(60)
    /// A request body is judged over windows of this length while the proxy waits for it: each
    /// window must bring at least `LimitsConfig.minRequestBodyRate` × its length in bytes (and at
    /// least one byte) → 408, and the upstream connection is not reused. Time spent blocked on the
    /// upstream (backpressure) is not the client's and is not counted.
    public var requestBody: Duration = .seconds(10)
    /// Non-blocking connect to an upstream → 504 when exceeded.
    public var upstreamConnect: Duration = .seconds(2)
    /// From request sent to response head (and between reads of the body) → 504.
    public var upstreamResponse: Duration = .seconds(30)
    /// Idle pooled upstream connections are closed after this.
    public var upstreamIdle: Duration = .seconds(30)
    /// A tunnel (after a 101, or an HTTP/2 extended CONNECT) with no byte either way for this long is
    /// closed; HAProxy's `timeout tunnel`.
    public var tunnel: Duration = .seconds(3600)
    /// Graceful drain deadline on SIGTERM/SIGINT.
    public var drain: Duration = .seconds(30)
    public init() {}
}

public struct LimitsConfig: Sendable, Equatable {
    /// Maximum size of a request head (request line + headers + CRLF CRLF) → 431 beyond.
    public var maxHeaderBytes: Int = 16 * 1024
    /// Maximum number of header fields in a request → 431 beyond.
    public var maxHeaderCount: Int = 100
    /// Idle keep-alive connections kept per upstream endpoint per event loop.
    public var maxIdlePerEndpoint: Int = 64
    /// Bytes per second a request body must average over each `TimeoutsConfig.requestBody` window
    /// (Kestrel's minimum data rate; 0: only the window's one byte is required).
    public var minRequestBodyRate: Int = 256
    /// Client connections the proxy keeps open at most, all listeners and loops; beyond it listeners
    /// stop accepting and new connections wait in the kernel's backlog. nil: derived from the
    /// descriptor limit at start (see `ConnectionBudget`).
    public var maxConnections: Int?
    /// A request body up to this many bytes is read whole before an upstream is chosen and connected
    /// (HTTP/1.1; capped by what one loop buffer holds after the head); a larger one streams once this
    /// much arrived. 0: bodies stream from the first byte.
    public var requestBuffer: Int = 0
    /// HTTP/1.1 bodies between plain-TCP sockets move through a kernel pipe with splice(2) once enough
    /// of them remains; false: always through the proxy's buffers (for kernels or filters where splice
    /// misbehaves).
    public var splice: Bool = true
    public init() {}
}

public struct ArmConfig: Sendable, Equatable {
    public var revision: String
    public var endpoints: [HostPort]
    /// Present: connections to the endpoints use verified TLS.
    public var tls: UpstreamTLSConfig?
    public var `protocol`: UpstreamProtocol
    public init(revision: String, endpoints: [HostPort], tls: UpstreamTLSConfig? = nil, protocol: UpstreamProtocol = .http1) {
        self.revision = revision; self.endpoints = endpoints; self.tls = tls; self.protocol = `protocol`
    }
}

public struct CanaryConfig: Sendable, Equatable {
    public var arm: ArmConfig
    /// Static share of traffic (percent, 0...100) sent to the canary. Optional (default 0).
    /// Ignored when the route has `analysis`: a managed route starts at 0 and the rollout
    /// controller sets the weight from then on.
    public var weight: Int
    /// `match:` (cohorts): a request matching any entry goes to the canary while it is live; the
    /// weight applies to the rest. Empty: every request is split by the weight.
    public var match: [CohortEntry] = []
    public init(arm: ArmConfig, weight: Int, match: [CohortEntry] = []) { self.arm = arm; self.weight = weight; self.match = match }
}

public struct MatchConfig: Sendable, Equatable {
    /// `nil`: any host. `"example.com"`: exact (case-insensitive). `"*.example.com"`: any subdomain.
    public var host: String?
    /// Path prefix, always starting with "/". Longest prefix wins.
    public var pathPrefix: String
    public init(host: String? = nil, pathPrefix: String = "/") { self.host = host; self.pathPrefix = pathPrefix }
}

public struct RouteConfig: Sendable, Equatable {
    public var name: String
    public var match: MatchConfig
    public var primary: ArmConfig
    public var canary: CanaryConfig?
    /// Present: the canary weight is managed by the rollout controller, not static.
    /// Only valid with a `canary` (`routes[0].analysis: requires a canary`).
    public var analysis: AnalysisConfig?
    /// Passive ejection of failing endpoints, for both arms alike.
    public var outlierDetection = OutlierDetectionConfig()
    /// Retries of failed attempts, always within the arm that failed.
    public var retries = RetryConfig()
    /// Active health checks of both arms' endpoints; nil: none.
    public var healthCheck: HealthCheckConfig?
    /// Copies of the primary's requests sent to the canary and compared (MirrorSchema.swift); nil: none.
    public var mirror: MirrorConfig?
    /// Keeps each client on one arm with a cookie; nil: every request is split on its own.
    public var sessionAffinity: SessionAffinityConfig?
    public init(name: String, match: MatchConfig, primary: ArmConfig, canary: CanaryConfig?, analysis: AnalysisConfig? = nil) {
        self.name = name; self.match = match; self.primary = primary; self.canary = canary; self.analysis = analysis
    }
}

public struct CanarygateConfig: Sendable, Equatable {
    public var admin: AdminConfig = AdminConfig()
    public var listeners: [ListenerConfig] = []
    public var timeouts: TimeoutsConfig = TimeoutsConfig()
    public var limits: LimitsConfig = LimitsConfig()
    /// Event-loop threads; `nil` means one per core.
    public var threads: Int?
    public var routes: [RouteConfig] = []
    /// Where rollout state is persisted; nil keeps it in memory only. Still accepted with `cluster`, but then
    /// not used: the fleet's rollout state lives in etcd, where every replica reads it.
    public var state: StateConfig?
    /// Fleet mode: rollouts shared with other replicas through etcd; nil runs them alone.
    public var cluster: ClusterConfig?
    /// Where rollout events are sent (chat services, webhooks); empty: nowhere.
    public var alerts: [AlertConfig] = []
    /// Trace context on forwarded requests and the arm header on responses (TracingSchema.swift).
    public var tracing = TracingConfig()
    /// One line per request, off the loops; nil logs nothing.
    public var accessLog: AccessLogConfig?
    public init() {}
}
