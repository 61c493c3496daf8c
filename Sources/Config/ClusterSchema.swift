// The `cluster` section: the etcd endpoints through which several replicas run one rollout per route.

/// Opt-in fleet mode. Without it a replica runs its rollouts alone, with its state file, as before.
public struct ClusterConfig: Sendable, Equatable {
    /// The fleet's name: replicas with the same name (and etcd) share one rollout per route.
    /// Keys live under `/canarygate/<name>/`.
    public var name: String
    /// This replica's name, unique in the fleet; nil: `<hostname>-<admin port>`, chosen at start.
    public var replica: String?
    /// etcd's client URLs, tried in order.
    public var etcd: [EtcdEndpoint]
    /// The lease that binds this replica's keys (its record, and the leader key while it leads): a replica
    /// silent for this long is gone, and a dead leader is replaced this long after its last keep-alive.
    public var leaseTTL: Duration = .seconds(3)
    /// How often a replica publishes its evidence while it changes (a local dead canary: at once).
    public var publishInterval: Duration = .milliseconds(500)
    /// Client certificate and CA for `https://` endpoints.
    public var tls: ClusterTLSConfig?

    public init(name: String, replica: String? = nil, etcd: [EtcdEndpoint]) {
        self.name = name
        self.replica = replica
        self.etcd = etcd
    }
}

/// One etcd client URL: `http://host:port` or `https://host:port`.
public struct EtcdEndpoint: Sendable, Equatable, CustomStringConvertible {
    public var secure: Bool
    /// Without brackets for IPv6, as getaddrinfo wants it.
    public var host: String
    public var port: UInt16

    public init(secure: Bool, host: String, port: UInt16) {
        self.secure = secure
        self.host = host
        self.port = port
    }

    public var description: String {
        "\(secure ? "https" : "http")://\(host.contains(":") ? "[\(host)]" : host):\(port)"
    }
}

/// TLS towards etcd: the CA that signed its certificate (nil: the system's) and, for etcd's
/// `--client-cert-auth`, this replica's certificate and key (both or neither).
public struct ClusterTLSConfig: Sendable, Equatable {
    public var caFile: String?
    public var certFile: String?
    public var keyFile: String?

    public init(caFile: String? = nil, certFile: String? = nil, keyFile: String? = nil) {
        self.caFile = caFile
        self.certFile = certFile
        self.keyFile = keyFile
    }
}
