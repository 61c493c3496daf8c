// The one list of the kinds of judge: adding a judge is its own file and one line here.

import Config

/// Builds a rollout's judges from its `analysis` settings, each kind asked in turn whether the
/// settings want it (`Judge.init(configuredBy:continuing:)`).
public struct JudgeFactory: Sendable {
    /// The kinds of judge, in the order the rollout asks them: a tick stops at the first failing verdict,
    /// and an interval's verdicts are shown in this order.
    public var kinds: [any Judge.Type]

    public init(kinds: [any Judge.Type]) { self.kinds = kinds }

    /// Canarygate's judges (docs/JUDGES.md). The comparison comes before the dead-canary guard: it sees
    /// every tick (its dispersion is per tick), and the sequential judge comes last, after the guard.
    public static let standard = JudgeFactory(kinds: [
        ThresholdJudge.self,
        ComparisonJudge.self,
        DeadCanaryRule.self,
        PromotionEvidence.self,
        SequentialJudge.self,
        MirrorMismatchJudge.self,
    ])

    /// The judges `analysis` asks for, continuing their memories in `evidence`. A judge in `current` of a
    /// kind still asked for carries on as it is (a reload keeps what it has seen of the interval so far).
    public func judges(
        for analysis: AnalysisConfig, continuing evidence: RolloutJudges.Evidence,
        current: [any Judge] = []
    ) -> [any Judge] {
        kinds.compactMap { kind in
            guard let new = kind.init(configuredBy: analysis, continuing: evidence) else { return nil }
            return current.first { type(of: $0) == kind } ?? new
        }
    }

    /// The memories the state file may hold.
    var memoryTypes: [any JudgeMemory.Type] { kinds.compactMap { $0.memoryType } }
}
