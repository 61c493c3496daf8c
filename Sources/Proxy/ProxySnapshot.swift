// The immutable configuration a loop serves with: built and validated off the loops, then handed to each of them.
import Config
import EventLoop
import TLS

/// A request is served to its end under the snapshot it started with; loops hold the current one.
public final class ProxySnapshot: Sendable {
    public let config: CanarygateConfig
    public let routes: RouteTable
    /// `tls`: the certificate context of a TLS listener, loaded with the snapshot so a bad file refuses the reload.
    public let listeners: [(name: String, address: SocketAddress, tls: TLSContext?)]
    /// Increases with every successful reload.
    public let generation: Int

    /// Resolves every address and loads every certificate (blocking: call it off the loops).
    public init(config: CanarygateConfig, generation: Int, weights: WeightRegistry = WeightRegistry()) throws {
        self.config = config
        self.generation = generation
        self.routes = try RouteTable(routes: config.routes, weights: weights)
        var resolved: [(String, SocketAddress, TLSContext?)] = []
        for l in config.listeners {
            let tls = try l.tls.map { try TLSContext(keyPairs: [TLSKeyPair(certificateFile: $0.certificate, privateKeyFile: $0.privateKey)]) }
            resolved.append((l.name, try SocketAddress.resolve(host: l.address.host, port: l.address.port), tls))
        }
        self.listeners = resolved
    }
}
