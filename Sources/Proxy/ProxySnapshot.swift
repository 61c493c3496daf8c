// The immutable configuration a loop serves with: built and validated off the loops, then handed to each of them.
import Config
import EventLoop

/// A request is served to its end under the snapshot it started with; loops hold the current one.
public final class ProxySnapshot: Sendable {
    public let config: CanarygateConfig
    public let routes: RouteTable
    public let listeners: [(name: String, address: SocketAddress)]
    /// Increases with every successful reload.
    public let generation: Int

    /// Resolves every address (blocking: call it off the loops).
    public init(config: CanarygateConfig, generation: Int, weights: WeightRegistry = WeightRegistry()) throws(AddressError) {
        self.config = config
        self.generation = generation
        self.routes = try RouteTable(routes: config.routes, weights: weights)
        var resolved: [(String, SocketAddress)] = []
        for l in config.listeners {
            resolved.append((l.name, try SocketAddress.resolve(host: l.address.host, port: l.address.port)))
        }
        self.listeners = resolved
    }
}
