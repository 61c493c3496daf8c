// The last ten minutes of every route, one sample a second, kept by the control thread for the admin page and `status --watch`.
import Config
import EventLoop
import Proxy
import Synchronization
import Telemetry

/// A route as the sampler sees it at one moment, from the config in force.
struct TimelineRoute: Sendable, Equatable {
    var name: String
    /// The share the route gives its canary now (a managed route's live weight, a static route's configured one).
    var weight: Int
    var hasCanary: Bool
}

/// Every route's ring of samples, and the counters each next sample is the difference from. Pure: the caller
/// brings the clock readings, the counters and the routes.
struct TimelineHistory: Sendable {
    /// Ten minutes of one-second samples per route.
    static let defaultCapacity = 600

    let capacity: Int
    /// The routes of the config at the last sample, in its order, with their rings.
    private(set) var order: [String] = []
    private var rings: [String: SampleRing] = [:]
    /// Each route's counters at the last sample: the next sample is what happened after them.
    private var baselines: [String: RouteSnapshot] = [:]
    private var lastSecond: Double?
    private var lastMonotonicNanoseconds: UInt64

    /// `startedAt`: the monotonic time the process's counters started from zero.
    init(capacity: Int = Self.defaultCapacity, startedAt: UInt64 = 0) {
        self.capacity = capacity
        lastMonotonicNanoseconds = startedAt
    }

    /// Whether `unixTime` falls in another whole second than the last sample (always true before the first).
    func isDue(unixTime: Double) -> Bool {
        lastSecond != unixTime.rounded(.down)
    }

    /// Takes one sample of every route in `routes` from the counters `measured`, and forgets the routes the
    /// config no longer has. The first sample counts from the process's start, when every counter was zero; a
    /// route that a reload adds later gets its first sample a second after it appears: its first counters are
    /// only the baseline (they may hold what the route counted before a reload removed and restored it).
    mutating func record(unixTime: Double, monotonicNanoseconds: UInt64, measured: MetricsSnapshot, routes: [TimelineRoute]) {
        let t = unixTime.rounded(.down)
        let seconds = Double(monotonicNanoseconds &- lastMonotonicNanoseconds) / 1e9
        let first = lastSecond == nil
        let current = Dictionary(measured.routes.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var nextBaselines: [String: RouteSnapshot] = [:]
        for route in routes {
            // The registry lists a route once a loop has counted for it; until then its counters are all zero.
            let counters = current[route.name] ?? RouteSnapshot(name: route.name)
            nextBaselines[route.name] = counters
            guard let baseline = baselines[route.name] ?? (first ? RouteSnapshot(name: route.name) : nil) else { continue }
            let delta = counters.delta(since: baseline)
            rings[route.name, default: SampleRing(capacity: capacity)].append(
                TimelineSample(
                    t: t, weight: route.weight, primary: TimelineArmSample(delta: delta.primary, seconds: seconds),
                    canary: route.hasCanary ? TimelineArmSample(delta: delta.canary, seconds: seconds) : nil))
        }
        baselines = nextBaselines
        rings = rings.filter { nextBaselines[$0.key] != nil }
        order = routes.map(\.name)
        lastSecond = t
        lastMonotonicNanoseconds = monotonicNanoseconds
    }

    /// Each route of the config, in its order, with its samples taken after `t` (all when nil).
    func routes(since t: Double?) -> [(name: String, samples: [TimelineSample])] {
        order.map { name in (name, rings[name]?.samples(after: t) ?? []) }
    }
}

/// The history behind a lock: the control thread samples it, the admin thread reads it.
final class Timeline: Sendable {
    /// Made with the server, before its first control tick: the first sample counts from here.
    private let history = Mutex(TimelineHistory(startedAt: MonotonicClock.nowNanoseconds()))

    /// Called on every control tick (every 100 ms): samples once each new whole second.
    func sampleIfDue(_ state: ServerState) {
        let now = ServerState.unixTime()
        guard history.withLock({ $0.isDue(unixTime: now) }) else { return }
        let snapshot = state.snapshot
        let routes = zip(snapshot.config.routes, snapshot.routes.byIndex).map { config, compiled in
            TimelineRoute(name: config.name, weight: compiled.weight.weight, hasCanary: config.canary != nil)
        }
        let measured = state.metrics.snapshot()
        let monotonic = MonotonicClock.nowNanoseconds()
        history.withLock { $0.record(unixTime: now, monotonicNanoseconds: monotonic, measured: measured, routes: routes) }
    }

    func routes(since t: Double?) -> [(name: String, samples: [TimelineSample])] {
        history.withLock { $0.routes(since: t) }
    }
}
