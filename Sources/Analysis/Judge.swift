// The seam every judge of a rollout plugs into: what the rollout asks of a judge each tick, interval and look.

import Config

/// One judge of a rollout, run by `RolloutJudges` on the control thread (never on the proxy's hot path,
/// so judges are held as existentials). `JudgeFactory` builds the judges a route's `analysis` asks for
/// and `RolloutJudges` asks them, in the factory's order:
/// - every control tick: a failing verdict rolls the canary back at once (the judges after it do not
///   see that tick, as the sequential judge does not see the tick the dead-canary guard fails);
/// - every analysis interval: its verdicts, which the rollout machine counts (fail) or holds on
///   (no data, hold), and /status and /metrics show;
/// - with `pace: evidence`: whether it forbids the step to advance now, and whether its evidence lets it.
///
/// A judge with a `memory` has it saved with the rollout state; it is given back through `evidence`
/// when the judge is built again (a restart, a reload that turns the judge on again).
public protocol Judge: Sendable {
    /// The judge `analysis` asks for, continuing its memory in `evidence`; nil when the settings leave it out.
    init?(configuredBy analysis: AnalysisConfig, continuing evidence: RolloutJudges.Evidence)
    /// Names the judge (`RolloutJudges.names`); its verdicts may be named more finely (one per metric check).
    var name: String { get }
    /// The type of its `memory`, so that the state file can be read back; nil for a judge that keeps nothing.
    static var memoryType: (any JudgeMemory.Type)? { get }
    /// What it keeps across restarts, of `memoryType`.
    var memory: (any JudgeMemory)? { get }
    /// A new rollout (a new revision or a retry) begins: forget what was about the previous one.
    mutating func beginRollout(_ analysis: AnalysisConfig)
    /// One tick of both arms: a failing verdict when the canary must go now, nil otherwise.
    mutating func observeTick(_ tick: JudgeTick) -> Verdict?
    /// The interval's verdicts, in the order /status shows them.
    mutating func analyseInterval(_ interval: inout JudgeInterval) -> [Verdict]
    /// Whether the step must not advance now, whatever the evidence (asked before any judge looks).
    var forbidsAdvance: Bool { get }
    /// `pace: evidence`: whether its evidence lets the current step advance now; nil when it has no say.
    mutating func allowsAdvance(_ look: inout JudgeLook) -> Bool?
}

/// What a judge does not do, it need not write.
extension Judge {
    public static var memoryType: (any JudgeMemory.Type)? { nil }
    public var memory: (any JudgeMemory)? { nil }
    public mutating func beginRollout(_ analysis: AnalysisConfig) {}
    public mutating func observeTick(_ tick: JudgeTick) -> Verdict? { nil }
    public mutating func analyseInterval(_ interval: inout JudgeInterval) -> [Verdict] { [] }
    public var forbidsAdvance: Bool { false }
    public mutating func allowsAdvance(_ look: inout JudgeLook) -> Bool? { nil }
}

/// What a judge is shown of one control tick.
public struct JudgeTick: Sendable {
    /// Both arms over the tick.
    public var canary: ArmWindow
    public var primary: ArmWindow
    /// The same by outcome class, "slow" cut where the rollout cuts it this tick (`RolloutJudges.observeTick`).
    public var canaryOutcomes: OutcomeCounts
    public var primaryOutcomes: OutcomeCounts
    /// The canary's weight during the tick.
    public var weight: Int
    /// The tick's time, in monotonic nanoseconds.
    public var now: UInt64
    public var analysis: AnalysisConfig
}

/// What a judge is shown of one analysis interval.
public struct JudgeInterval: Sendable {
    /// Both arms over the interval.
    public var canary: ArmWindow
    public var primary: ArmWindow
    /// The current step (its weight, both arms' counts since it began); a judge that looks at it counts its look.
    public var step: RolloutJudges.Evidence.Step
    public var analysis: AnalysisConfig
}

/// What a judge is shown when `pace: evidence` asks whether the step may advance.
public struct JudgeLook: Sendable {
    /// The look's time, in monotonic nanoseconds.
    public var now: UInt64
    /// When the current step's first tick was (0: none yet in this process).
    public var stepStartedAt: UInt64
    /// The current step; a judge that looks at it counts its look.
    public var step: RolloutJudges.Evidence.Step
    public var analysis: AnalysisConfig
}
