// Every judge of one rollout, fed per tick and per interval: what the controller and the simulations both run.

import Config
import Telemetry

/// The judging of one rollout, without clocks or sockets: the controller feeds it each tick's and
/// each interval's counts (from the proxy's metrics), benchmarks/analysis feeds it simulated ones.
///
/// It holds the judges `JudgeFactory` builds from the settings and what they share: the slow threshold
/// the outcome classes are cut at, and the current step. Per tick, the judges in the factory's order
/// (the dead-canary guard whatever `sequential.enabled` says, then the sequential judge); a failing
/// verdict means "roll back now". Per interval: each judge's verdicts (the thresholds, the comparison,
/// the evidence for going further over the current step, the sequential judge's standing).
public struct RolloutJudges: Sendable {
    /// A change rebuilds the judges: those still asked for carry on, those turned on continue their memory.
    public var analysis: AnalysisConfig {
        didSet {
            guard analysis != oldValue else { return }
            record = evidence
            judges = factory.judges(for: analysis, continuing: record, current: judges)
        }
    }
    private let factory: JudgeFactory
    private var judges: [any Judge]
    /// The evidence but for the memories of the judges built now, which they hold: the revision, the step,
    /// and the memories of the judges not built (as restored, or as the rollout began them).
    private var record: Evidence
    /// Requests slower than this (seconds) are "slow"; fixed before the events it judges.
    public private(set) var slowThreshold: Double?
    /// When the current step began (its first tick at the new weight).
    private var stepStartedAt: UInt64 = 0

    /// Judges for `revision`, continuing `restored` evidence when it is about the same revision and every
    /// judge's memory in it still holds (the sequential judge's: the same α).
    public init(analysis: AnalysisConfig, revision: String?, restored: Evidence? = nil, factory: JudgeFactory = .standard) {
        self.analysis = analysis
        self.factory = factory
        let new = Evidence(revision: revision, analysis: analysis, factory: factory)
        record = restored?.continued(revision: revision, analysis: analysis, new: new) ?? new
        judges = factory.judges(for: analysis, continuing: record)
        slowThreshold = Self.slowThreshold(analysis, previousPrimary: HistogramSnapshot())
    }

    /// What the rollout has learned, as the state file keeps it and /status shows it.
    public var evidence: Evidence {
        var evidence = record
        for judge in judges { if let memory = judge.memory { evidence.keep(memory) } }
        return evidence
    }

    /// The judges built now, in the order they are asked.
    public var names: [String] { judges.map(\.name) }

    /// A new rollout (a new revision, or a retry): new evidence, a new α.
    public mutating func beginRollout(revision: String?) {
        record = Evidence(revision: revision, analysis: analysis, factory: factory)
        for i in judges.indices { judges[i].beginRollout(analysis) }
    }

    /// One tick's counts at canary weight `weight`; returns a failing verdict when the canary must go now.
    ///
    /// Above 50 % the canary carries more of the load than the primary, so a service whose latency grows
    /// with its load is slower on the canary whatever its version (measured end to end: identical Python
    /// backends at 60 %, canary median 14.4 ms vs the primary's 8.4 ms). The tick compares the arms at
    /// the same moment, hence at different loads: there the slow class is not counted (a predictable
    /// choice, so the guarantee holds). The interval's latency comparison uses the primary's latencies
    /// from the step where the loads were mirrored instead (`ComparisonJudge`). Without a baseline arm
    /// that is the best available: a latency regression that only shows above half the load is missed.
    ///
    /// `canaryCarry`, `primaryCarry`: each arm's slow take-backs seen a tick early, from one tick to the
    /// next (`ArmWindow.outcomes(slowThreshold:carry:)`); the simulations, whose windows are whole, omit them.
    public mutating func observeTick(canary: ArmWindow, primary: ArmWindow, weight: Int, now: UInt64) -> Verdict? {
        var canaryCarry = ArmWindow.SlowCarry(), primaryCarry = ArmWindow.SlowCarry()
        return observeTick(
            canary: canary, primary: primary, weight: weight, now: now, canaryCarry: &canaryCarry, primaryCarry: &primaryCarry)
    }

    public mutating func observeTick(
        canary: ArmWindow, primary: ArmWindow, weight: Int, now: UInt64,
        canaryCarry: inout ArmWindow.SlowCarry, primaryCarry: inout ArmWindow.SlowCarry
    ) -> Verdict? {
        let slow = weight > 50 ? nil : slowThreshold
        let tick = JudgeTick(
            canary: canary, primary: primary,
            canaryOutcomes: canary.outcomes(slowThreshold: slow, carry: &canaryCarry),
            primaryOutcomes: primary.outcomes(slowThreshold: slow, carry: &primaryCarry),
            weight: weight, now: now, analysis: analysis)
        if record.step.weight != weight {
            record.step = Evidence.Step(weight: weight)
            stepStartedAt = now
        } else if stepStartedAt == 0 {
            // Restored mid-step: the dwell counts from the restart, the step's evidence is kept.
            stepStartedAt = now
        }
        record.step.canary = record.step.canary + tick.canaryOutcomes
        record.step.primary = record.step.primary + tick.primaryOutcomes
        for i in judges.indices {
            if let failure = judges[i].observeTick(tick) { return failure }
        }
        return nil
    }

    /// The interval's verdicts; `primary` sets the next interval's slow threshold.
    public mutating func analyseInterval(canary: ArmWindow, primary: ArmWindow) -> [Verdict] {
        var interval = JudgeInterval(canary: canary, primary: primary, step: record.step, analysis: analysis)
        var verdicts: [Verdict] = []
        for i in judges.indices { verdicts += judges[i].analyseInterval(&interval) }
        record.step = interval.step
        // The next interval's slowness threshold (e.g. this interval's primary p99): fixed before the events it will judge.
        if primary.n >= UInt64(analysis.minRequests), let t = Self.slowThreshold(analysis, previousPrimary: primary.histogram) {
            slowThreshold = t
        }
        return verdicts
    }

    /// `pace: evidence`: whether the step may be analysed now — no judge forbids it, and every judge that
    /// has a say (`PromotionEvidence`, after `minDwell`) lets it.
    public mutating func evidenceAllowsAdvance(now: UInt64) -> Bool {
        guard analysis.pace == .evidence, !judges.contains(where: { $0.forbidsAdvance }) else { return false }
        var look = JudgeLook(now: now, stepStartedAt: stepStartedAt, step: record.step, analysis: analysis)
        defer { record.step = look.step }
        var allowed = false
        for i in judges.indices {
            guard let answer = judges[i].allowsAdvance(&look) else { continue }
            if !answer { return false }
            allowed = true
        }
        return allowed
    }

    /// T for the slow class. Relative to the primary's p99 it is raised by the comparison's minimum
    /// latency increase, so "slow" means slower by an amount a person cares about; still a constant
    /// fixed before the events it judges, so the test keeps its guarantee.
    static func slowThreshold(_ analysis: AnalysisConfig, previousPrimary: HistogramSnapshot) -> Double? {
        guard let t = SlowThreshold.seconds(analysis.sequential.slowThreshold, previousPrimary: previousPrimary) else { return nil }
        guard case .primaryP99 = analysis.sequential.slowThreshold else { return t }
        let floor = analysis.comparison.minLatencyIncrease.components
        return t + Double(floor.seconds) + Double(floor.attoseconds) * 1e-18
    }
}
