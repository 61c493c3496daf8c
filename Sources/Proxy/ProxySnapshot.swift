// The immutable configuration a loop serves with: built and validated off the loops, then handed to each of them.
import Config
import EventLoop
import TLS

/// A request is served to its end under the snapshot it started with; loops hold the current one.
public final class ProxySnapshot: Sendable {
    public let config: CanarygateConfig
    public let routes: RouteTable
    /// `tls`: the certificates of a TLS listener, loaded with the snapshot so a bad file refuses the reload.
    /// `http2`: the listener's `http2` setting, which its TLS context already offers through ALPN.
    public let listeners: [(name: String, address: SocketAddress, tls: TLSContext?, http2: Bool, balance: AcceptBalance)]
    /// Increases with every successful reload (and every change of the primary overrides).
    public let generation: Int
    /// Routes whose primary traffic an undo sent to the previous primary's arm instead of `config`'s.
    public let primaryOverrides: [String: ArmConfig]
    /// `tracing`: start a trace for requests without a valid traceparent; each arm's response field (nil: off).
    let startsTraces: Bool
    let armFields: ArmFields?
    /// `limits.splice`: bodies between plain-TCP sockets may be spliced (ClientConnection+Splice.swift).
    let splices: Bool

    /// Resolves every address and loads every certificate (blocking: call it off the loops).
    public init(
        config: CanarygateConfig, generation: Int, weights: WeightRegistry = WeightRegistry(), primaryOverrides: [String: ArmConfig] = [:]
    ) throws {
        self.config = config
        self.generation = generation
        self.primaryOverrides = primaryOverrides
        self.routes = try RouteTable(routes: config.routes.overridingPrimaries(primaryOverrides), weights: weights)
        startsTraces = config.tracing.traceparent == .start
        splices = config.limits.splice
        armFields = config.tracing.armHeader ? ArmFields(name: config.tracing.armHeaderName, routes: routes.byIndex) : nil
        var resolved: [(String, SocketAddress, TLSContext?, Bool, AcceptBalance)] = []
        for l in config.listeners {
            let alpn = l.http2 ? ["h2", "http/1.1"] : ["http/1.1"]
            let tls = try l.tls.map { tls in
                try TLSContext(
                    keyPairs: tls.certificates.map { TLSKeyPair(certificateFile: $0.certificate, privateKeyFile: $0.privateKey) },
                    alpn: alpn)
            }
            resolved.append((l.name, try SocketAddress.resolve(host: l.address.host, port: l.address.port), tls, l.http2, l.balance))
        }
        self.listeners = resolved
    }
}
