// A proxy loop built in the test's own thread from a YAML config (its reactor stepped by hand), and free ports for its listeners.
@testable import Proxy
import Config
import EventLoop
import Logging
import Telemetry

func makeLoop(yaml: String) throws -> ProxyLoop {
    let snapshot = try ProxySnapshot(config: try ConfigLoader.parse(yaml + "\n"), generation: 1)
    return try ProxyLoop(index: 0, snapshot: snapshot, metrics: MetricsRegistry(loopCount: 1), log: Logger(label: "proxy-test"))
}

/// A port nothing listens on now (the kernel's pick for an ephemeral bind, released at once).
func freePort() throws -> UInt16 {
    let probe = try SocketDescriptor.listen(on: SocketAddress.resolve(host: "127.0.0.1", port: 0))
    defer { probe.close() }
    return try probe.localAddress().port
}
