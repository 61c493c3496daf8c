// One endpoint's idle keep-alive connections on one loop, and whether the endpoint is currently ejected.
import Config
import EventLoop
import Logging
import Telemetry
import TLS

final class UpstreamPool {
    let address: SocketAddress
    let configured: HostPort
    /// `configured` as the access log writes it ("host:port"), escaped once.
    let endpointLogText: AccessLogFragment
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
    /// Passive health: this loop's view of the endpoint's failure streak and ejections.
    private(set) var outlier = OutlierState()
    /// The `outlierDetection` of the first route listing the endpoint (set at each config install).
    var outlierPolicy = OutlierPolicy.default
    /// The shards of the arms listing the endpoint, which count its ejections (set at each config install).
    var ejectionShards: [ArmShard] = []
    /// Where an ejection is logged, naming the endpoint (the loop's logger, set at each config install).
    var log: Logger?

    init(address: SocketAddress, configured: HostPort, protocolKind: UpstreamProtocol, tls: UpstreamTLS?, maxIdle: Int) {
        self.address = address
        self.configured = configured
        endpointLogText = .endpoint(configured.description)
        self.protocolKind = protocolKind
        self.tls = tls
        self.resumption = tls == nil ? nil : TLSResumption()
        self.maxIdle = maxIdle
        idle.reserveCapacity(maxIdle)
    }

    /// Ejected: kept out of rotation while its arm has enough other endpoints (`ArmRuntime.pick`).
    func isEjected(now: UInt64) -> Bool { outlier.isEjected(now: now) }

    /// A gateway failure of the endpoint (see `OutlierState`); may eject it.
    func recordFailure(now: UInt64) {
        if case .ejected(let until) = outlier.recordFailure(now: now, policy: outlierPolicy) {
            for shard in ejectionShards { shard.recordEjection() }
            log?.warning(
                "outlier detection: \(configured) ejected for \((until - now) / 1_000_000) ms after \(outlierPolicy.consecutiveFailures) consecutive failures (ejection \(outlier.ejections))"
            )
        }
    }

    /// An HTTP/2 connection to the endpoint is up: for `protocol: h2` arms, whose streams' outcomes are
    /// not reported per endpoint, this is what ends a streak of connect failures.
    func recordConnected() { outlier.recordSuccess() }

    /// The endpoint answered with `status`: a 502/503/504 is a gateway failure, anything else ends the streak.
    func recordResponse(status: Int, now: UInt64) {
        if OutlierState.isGatewayFailure(status: status) { recordFailure(now: now) } else { outlier.recordSuccess() }
    }

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

/// Round-robin over an arm's endpoints on one loop, skipping ejected and unhealthy ones while few
/// enough are, and the arm's retry budget. A class: an exchange that retries finds its arm again (`ProxyLoop.retryTarget`).
final class ArmRuntime {
    let pools: [UpstreamPool]
    private var next = 0
    /// How many of the arm's endpoints may be out of rotation at once: `maxEjectedPercent` of them,
    /// rounded down, and never the last one.
    let maxOutOfRotation: Int
    let retryPolicy: RetryPolicy
    private var budget = RetryBudget()
    /// One per pool, in order, with a `healthCheck`; else empty.
    let probes: [HealthProbe]

    init(pools: [UpstreamPool], outlier: OutlierPolicy, retry: RetryPolicy, probes: [HealthProbe] = []) {
        self.pools = pools
        self.probes = probes
        maxOutOfRotation = min(pools.count - 1, pools.count * outlier.maxEjectedPercent / 100)
        retryPolicy = retry
    }

    /// The endpoint for a new request of the arm; counts the request for the retry budget.
    ///
    /// Ejected and unhealthy endpoints are skipped while at most `maxOutOfRotation` of them are. Beyond
    /// that the arm is in panic (Envoy's name): it uses all its endpoints, ejected or not. An arm's
    /// traffic never moves to the other arm, so skipping every endpoint would only turn each request
    /// into the proxy's own 503, which hides what the endpoints would have answered; an arm whose
    /// endpoints are all failing shows the judges those failures instead.
    func pick(now: UInt64) -> UpstreamPool {
        budget.requestStarted(now: now)
        return choose(now: now, avoiding: nil)
    }

    /// The endpoint for a retry after a failure on `failed`: another endpoint of the arm (in rotation
    /// if one is), else `failed` itself when it is the arm's only one and not yet retried (`retriesSoFar`).
    /// nil when the policy's retry budget is spent.
    func retryTarget(after failed: UpstreamPool, retriesSoFar: Int, now: UInt64) -> UpstreamPool? {
        if pools.count == 1 && retriesSoFar > 0 { return nil }
        guard budget.tryRetry(now: now, policy: retryPolicy.budget) else { return nil }
        return pools.count == 1 ? failed : choose(now: now, avoiding: failed)
    }

    /// Ends the arm's health checks (a reload replaced the arm, or the loop stops).
    func stopProbes() {
        for probe in probes { probe.stop() }
    }

    private func isOutOfRotation(_ i: Int, now: UInt64) -> Bool {
        pools[i].isEjected(now: now) || (!probes.isEmpty && !probes[i].healthy)
    }

    /// The next endpoint in turn that is in rotation (all are, in panic), other than `avoided`. Only a
    /// new request's choice moves the turn: a retry's does not, so a failing endpoint's share of new
    /// requests stays its share.
    private func choose(now: UInt64, avoiding avoided: UpstreamPool?) -> UpstreamPool {
        let n = pools.count
        var honourEjections = false
        if maxOutOfRotation > 0 {
            var out = 0
            for i in 0..<n where isOutOfRotation(i, now: now) { out += 1 }
            honourEjections = out > 0 && out <= maxOutOfRotation
        }
        var fallback: UpstreamPool?
        var cursor = next
        for _ in 0..<n {
            let i = cursor
            let pool = pools[i]
            cursor = cursor + 1 == n ? 0 : cursor + 1
            if pool === avoided { continue }
            if honourEjections && isOutOfRotation(i, now: now) {
                if fallback == nil { fallback = pool }
                continue
            }
            if avoided == nil { next = cursor }
            return pool
        }
        // Only when avoiding `avoided` left nothing in rotation: another endpoint, ejected or not.
        return fallback ?? avoided ?? pools[0]
    }
}

/// Per-loop mutable state of one route: its split, its arms' pools and metrics shards.
struct RouteRuntime {
    var split: WeightedSplit
    var primary: ArmRuntime
    var canary: ArmRuntime?
    let primaryShard: ArmShard
    let canaryShard: ArmShard
    /// Routes with session affinity: the loop's count of recent clients per arm.
    var clients: ClientSketch? = nil
}
