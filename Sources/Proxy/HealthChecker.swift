// Active health checks: one probe per arm endpoint on each loop, on the loop's deadlines and non-blocking sockets.
import Config
import EventLoop

/// Probes one endpoint of an arm every `interval`: a TCP connect (and the arm's TLS handshake), then
/// for an HTTP check `GET path` and its status line. A probe that has not passed within `timeout`
/// fails. Each loop probes its own pools, as each keeps its own ejections: no state is shared
/// between threads, at the price of one probe per loop per interval. A probe's connect failure also
/// counts toward the endpoint's outlier streak, as any connect failure does.
final class HealthProbe: UpstreamOwner {
    let pool: UpstreamPool
    /// The whole HTTP request of the probe; nil for a TCP check.
    private let request: [UInt8]?
    private let rise: Int
    private let fall: Int
    /// Unowned: the loop owns its arms, and they their probes (`stop` ends a probe before it is dropped).
    private unowned(unsafe) let proxy: ProxyLoop
    private let intervalList: DeadlineList
    private let timeoutList: DeadlineList
    private var state = HealthState()
    private var connection: UpstreamConnection?
    private var sent = 0
    /// The first bytes of the response: the status line is all a probe reads.
    private var statusLine: [UInt8] = []
    private var stopped = false

    var healthy: Bool { state.healthy }

    init(pool: UpstreamPool, check: HealthCheckConfig, proxy: ProxyLoop) {
        self.pool = pool
        self.proxy = proxy
        rise = check.rise
        fall = check.fall
        intervalList = proxy.loop.deadlineList(for: check.interval)
        timeoutList = proxy.loop.deadlineList(for: check.timeout)
        switch check.probe {
        case .tcp:
            request = nil
        case .http(let path):
            request = Array(
                "GET \(path) HTTP/1.1\r\nHost: \(pool.configured)\r\nUser-Agent: canarygate-health-check\r\nConnection: close\r\n\r\n".utf8)
        }
    }

    /// The first probe runs at once.
    func start() { probe() }

    /// Ends the probe for good (a reload replaced it, or the loop stops).
    func stop() {
        stopped = true
        cancelDeadline()
        closeConnection()
    }

    /// The interval passed (start a probe), or the probe's timeout did (it failed).
    override func handleDeadline() {
        guard !stopped else { return }
        if connection == nil { probe() } else { finish(passed: false) }
    }

    override func upstreamReady() { step() }
    override func upstreamDeadlinePassed() { finish(passed: false) }

    private func probe() {
        switch proxy.bindUpstream(pool: pool, reuse: false, owner: self) {
        case .failure:
            finish(passed: false)
        case .success(let up):
            connection = up
            sent = 0
            statusLine.removeAll(keepingCapacity: true)
            timeoutList.arm(self, now: proxy.loop.now)
            if up.connected { step() }
        }
    }

    private func step() {
        guard let up = connection else { return }
        if !up.connected {
            guard up.writable || up.hungUp else { return }
            if up.completeConnect() != nil {
                finish(passed: false)
                return
            }
        }
        guard let request else {
            finish(passed: true)
            return
        }
        do {
            while sent < request.count {
                guard up.writable else { return }
                let result = try request.withUnsafeBytes { try up.transport.write(UnsafeRawBufferPointer(rebasing: $0[sent...])) }
                switch result {
                case .wouldBlock: up.writable = false
                case .value(let n): sent += n
                }
            }
            var chunk = (UInt64(0), UInt64(0))
            while up.readable && statusLine.count < Self.statusLineLength {
                let result = try withUnsafeMutableBytes(of: &chunk) { try up.transport.read(into: $0) }
                switch result {
                case .wouldBlock:
                    up.readable = false
                case .value(0):
                    finish(passed: false)
                    return
                case .value(let n):
                    withUnsafeBytes(of: chunk) { statusLine.append(contentsOf: $0.prefix(n)) }
                }
            }
        } catch {
            finish(passed: false)
            return
        }
        if statusLine.count >= Self.statusLineLength { finish(passed: Self.passes(statusLine)) }
    }

    /// "HTTP/1.1 200": what a probe reads before judging.
    static let statusLineLength = 12

    /// A 2xx or 3xx status line.
    static func passes(_ bytes: [UInt8]) -> Bool {
        guard bytes.count >= statusLineLength, bytes.starts(with: Array("HTTP/1.".utf8)), bytes[8] == UInt8(ascii: " ") else {
            return false
        }
        let first = bytes[9]
        let digits = bytes[9...11].allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
        return digits && (first == UInt8(ascii: "2") || first == UInt8(ascii: "3"))
    }

    private func finish(passed: Bool) {
        closeConnection()
        cancelDeadline()
        switch state.record(passed: passed, rise: rise, fall: fall) {
        case .becameUnhealthy: proxy.log.warning("health check: \(pool.configured) failed \(fall) in a row: out of rotation")
        case .becameHealthy: proxy.log.info("health check: \(pool.configured) passed \(rise) in a row: back in rotation")
        case .none: break
        }
        guard !stopped else { return }
        intervalList.arm(self, now: proxy.loop.now)
    }

    private func closeConnection() {
        guard let up = connection else { return }
        connection = nil
        up.close()
    }
}

extension ProxyLoop {
    /// One started probe per pool of an arm of `route`, or none when the route has no `healthCheck`.
    func startProbes(_ pools: [UpstreamPool], route: CompiledRoute) -> [HealthProbe] {
        guard let check = route.healthCheck else { return [] }
        let probes = pools.map { HealthProbe(pool: $0, check: check, proxy: self) }
        for probe in probes { probe.start() }
        return probes
    }
}
