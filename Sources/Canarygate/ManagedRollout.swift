// One managed route on the control thread: its state machine, its analysis windows and its sequential judges.
import Analysis
import Config
import Proxy
import Rollout
import Telemetry

struct ManagedRollout {
    var machine: RolloutMachine
    let weight: WeightCell
    var analysis: AnalysisConfig
    var route: RouteConfig?

    /// Counts at the start of the current analysis interval.
    private var windowStart: RouteSnapshot?
    /// Counts at the previous tick, for the sequential judges' per-tick deltas.
    private var lastTick: RouteSnapshot?
    private var failureJudge: SequentialJudge
    private var slowJudge: SequentialJudge
    /// Requests slower than this (seconds) are "slow"; fixed before the events it judges (JUDGES.md §3).
    private var slowThreshold: Double?
    /// The canary's (time, requests, failures) per tick over the last second, for the dead-canary guard.
    private var lastSecond: [(at: UInt64, requests: UInt64, failures: UInt64)] = []

    init(machine: RolloutMachine, weight: WeightCell, analysis: AnalysisConfig) {
        self.machine = machine
        self.weight = weight
        self.analysis = analysis
        failureJudge = SequentialJudge(config: analysis.sequential, events: "failures")
        slowJudge = SequentialJudge(config: analysis.sequential, events: "slow requests")
        slowThreshold = Self.slowThreshold(analysis, previousPrimary: HistogramSnapshot())
    }

    /// Judging runs whenever the canary takes traffic before it has become the primary, up to 100% in
    /// Promoted: a dead canary is rolled back at any weight. (A pause freezes progress, not safety.)
    private var judging: Bool {
        switch machine.state.phase {
        case .progressing, .waitingPromotion, .promoting, .promoted: return weight.weight > 0
        default: return false
        }
    }

    mutating func startWindow(_ current: RouteSnapshot) {
        windowStart = current
        lastTick = current
        failureJudge.reset()
        slowJudge.reset()
        lastSecond.removeAll()
    }

    /// Feeds the tick's counts to the sequential judges; a verdict that fails means "roll back now".
    mutating func observeTick(_ current: RouteSnapshot, now: UInt64) -> Verdict? {
        defer { lastTick = current }
        guard judging, let previous = lastTick, analysis.sequential.enabled else { return nil }
        let delta = current.delta(since: previous)
        let canary = ArmWindow(delta.canary), primary = ArmWindow(delta.primary)

        lastSecond.append((now, canary.n, canary.failures))
        lastSecond.removeAll { now &- $0.at > 1_000_000_000 }
        let recentRequests = lastSecond.reduce(0) { $0 + $1.requests }
        let recentFailures = lastSecond.reduce(0) { $0 + $1.failures }
        let dead = DeadCanaryRule().evaluate(canaryRequests: recentRequests, canaryFailures: recentFailures)
        if dead.outcome == .fail { return dead }

        let failures = failureJudge.observe(canaryRequests: canary.n, canaryBad: canary.failures,
                                            primaryRequests: primary.n, primaryBad: primary.failures)
        if failures.outcome == .fail { return failures }
        if let t = slowThreshold {
            let slow = slowJudge.observe(canaryRequests: canary.n, canaryBad: canary.slow(threshold: t),
                                         primaryRequests: primary.n, primaryBad: primary.slow(threshold: t))
            if slow.outcome == .fail { return slow }
        }
        return nil
    }

    /// The interval's verdicts (thresholds, then the comparison with the primary); starts the next interval.
    mutating func analyseInterval(_ current: RouteSnapshot) -> [Verdict] {
        let delta = current.delta(since: windowStart ?? current)
        windowStart = current
        let canary = ArmWindow(delta.canary), primary = ArmWindow(delta.primary)
        var verdicts = ThresholdJudge.evaluate(canary: canary, checks: analysis.metrics, minRequests: analysis.minRequests)
        if analysis.comparison.enabled {
            verdicts += ComparisonJudge.evaluate(canary: canary, primary: primary, config: analysis.comparison, minRequests: analysis.minRequests)
        }
        // The next interval's slowness threshold (e.g. this interval's primary p99): fixed before the events it will judge.
        if primary.n >= UInt64(analysis.minRequests), let t = Self.slowThreshold(analysis, previousPrimary: delta.primary.histogram) {
            slowThreshold = t
        }
        return verdicts
    }

    /// T for the sequential slow-request test. Relative to the primary's p99 it is raised by the
    /// comparison's minimum latency increase, so "slow" means slower by an amount a person cares about;
    /// still a constant fixed before the events it judges, so the test keeps its guarantee.
    static func slowThreshold(_ analysis: AnalysisConfig, previousPrimary: HistogramSnapshot) -> Double? {
        guard let t = SlowThreshold.seconds(analysis.sequential.slowThreshold, previousPrimary: previousPrimary) else { return nil }
        guard case .primaryP99 = analysis.sequential.slowThreshold else { return t }
        return t + Double(analysis.comparison.minLatencyIncrease.nanoseconds) / 1e9
    }
}
