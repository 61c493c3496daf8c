// One endpoint's idle keep-alive connections on one loop, and whether the endpoint is currently marked down.
import Config
import EventLoop
import Telemetry
import TLS

final class UpstreamPool {
    let address: SocketAddress
    let configured: HostPort
    let protocolKind: UpstreamProtocol
    /// How new connections are secured (nil: plain TCP). A reload may hand in a fresh context for the
    /// same CA file and name (the file's content may have changed); idle connections keep theirs.
    var tls: UpstreamTLS? {
        // A resumed handshake verifies nothing: a session verified under other trust settings must go.
        didSet { if tls != oldValue { resumption?.forget() } }
    }
    /// TLS only: the endpoint's latest session, which new connections offer to skip a full handshake.
    let resumption: TLSResumption?
    private(set) var idle: [UpstreamConnection] = []
    /// Connections being opened ahead of traffic (`PoolWarmer`), not yet idle.
    var warming = 0
    /// For `protocol: h2`: this loop's multiplexed connections to the endpoint.
    var h2Connections: [H2UpstreamConnection] = []
    var maxIdle: Int
    /// After a failed connect the endpoint is skipped until this time (passive health, like Envoy's outlier ejection).
    private(set) var downUntil: UInt64 = 0

    static let ejectionNanoseconds: UInt64 = 2_000_000_000

    init(address: SocketAddress, configured: HostPort, protocolKind: UpstreamProtocol, tls: UpstreamTLS?, maxIdle: Int) {
        self.address = address
        self.configured = configured
        self.protocolKind = protocolKind
        self.tls = tls
        self.resumption = tls == nil ? nil : TLSResumption()
        self.maxIdle = maxIdle
        idle.reserveCapacity(maxIdle)
    }

    func isDown(now: UInt64) -> Bool { now < downUntil }
    func markDown(now: UInt64) { downUntil = now &+ Self.ejectionNanoseconds }
    func markUp() { downUntil = 0 }

    /// The most recently used idle connection (warmest, least likely closed by the upstream).
    func takeIdle() -> UpstreamConnection? { idle.popLast() }

    /// The endpoint left the config: busy connections close when their exchange ends instead of returning.
    private(set) var retired = false

    /// Keeps `connection` for reuse, or reports false when the pool is full or retired.
    func keep(_ connection: UpstreamConnection) -> Bool {
        guard idle.count < maxIdle, !retired else { return false }
        idle.append(connection)
        return true
    }

    /// Forgets an idle connection that the upstream closed or that timed out.
    func forget(_ connection: UpstreamConnection) {
        if let i = idle.lastIndex(where: { $0 === connection }) { idle.remove(at: i) }
    }

    /// Forgets a closed HTTP/2 connection.
    func forget(_ connection: H2UpstreamConnection) {
        if let i = h2Connections.firstIndex(where: { $0 === connection }) { h2Connections.remove(at: i) }
    }

    func retire() {
        retired = true
        closeAll()
    }

    /// Closes every idle connection (the endpoint left the config, or its idle connections are
    /// dropped). HTTP/2 connections are multiplexed: they take no new stream and close once the
    /// streams in flight are done.
    func closeAll() {
        let all = idle
        idle.removeAll()
        for c in all { c.close() }
        let h2 = h2Connections
        h2Connections.removeAll()
        for c in h2 { c.retire() }
    }
}

/// Round-robin over an arm's endpoints on one loop, skipping endpoints marked down.
struct ArmRuntime {
    var pools: [UpstreamPool]
    var next = 0

    mutating func pick(now: UInt64) -> UpstreamPool? {
        let n = pools.count
        for _ in 0..<n {
            let pool = pools[next]
            next = next + 1 == n ? 0 : next + 1
            if !pool.isDown(now: now) { return pool }
        }
        return nil
    }
}

/// Per-loop mutable state of one route: its split, its arms' pools and metrics shards.
struct RouteRuntime {
    var split: WeightedSplit
    var primary: ArmRuntime
    var canary: ArmRuntime?
    let primaryShard: ArmShard
    let canaryShard: ArmShard
}
