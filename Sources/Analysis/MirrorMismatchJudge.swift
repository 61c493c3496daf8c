// The mirror judge: the share of an interval's completed mirrors whose canary response differed from the primary's.

import Config
import Telemetry

/// Built when the route has a `mirror` (with a weight above 0). Each interval: of the mirrors completed
/// in it (both responses compared), the percentage with at least one mismatch (status, body or latency,
/// counted once however many kinds); above `mirror.maxMismatchPercent` the verdict fails, and counts
/// towards the rollback as a failed threshold check does. Fewer completed mirrors than `minRequests`:
/// no data. Dropped, skipped, failed and timed-out mirrors are not in the rate: the canary's failures
/// and timeouts reach the other judges as canary responses (5xx), and a drop says the canary is slow.
public struct MirrorMismatchJudge: Judge {
    public static let verdictName = "mirror-mismatch"

    public init?(configuredBy analysis: AnalysisConfig, continuing evidence: RolloutJudges.Evidence) {
        if analysis.mirror == nil { return nil }
    }

    public var name: String { Self.verdictName }

    public mutating func analyseInterval(_ interval: inout JudgeInterval) -> [Verdict] {
        guard let settings = interval.analysis.mirror else { return [] }
        return [
            Self.evaluate(
                interval.canary.mirror, maxMismatchPercent: settings.maxMismatchPercent, minCompleted: interval.analysis.minRequests)
        ]
    }

    /// The verdict on one interval's mirror counts.
    public static func evaluate(_ counts: MirrorCounts, maxMismatchPercent: Double, minCompleted: Int) -> Verdict {
        let completed = counts[.completed]
        let required = UInt64(max(minCompleted, 1))
        let kinds = MirrorMismatch.allCases.map { Verdict.Evidence("mismatches-\($0.label)", Double(counts[$0])) }
        guard completed >= required else {
            return Verdict(
                judge: verdictName, outcome: .noData,
                summary: "mirror mismatches: no data, \(completed) completed mirrors < \(required) required",
                evidence: [.init("completed", Double(completed)), .init("min-completed", Double(required))])
        }
        let mismatched = min(counts.mismatched, completed)
        let percent = 100 * Double(mismatched) / Double(completed)
        let failed = percent > maxMismatchPercent
        let comparison = failed ? ">" : "≤"
        return Verdict(
            judge: verdictName, outcome: failed ? .fail : .pass,
            summary: "mirror mismatches \(Format.short(percent))% \(comparison) \(Format.trimmed(maxMismatchPercent))% (n=\(completed))",
            evidence: [
                .init("mismatch-percent", percent), .init("mismatched", Double(mismatched)), .init("completed", Double(completed)),
                .init("max", maxMismatchPercent),
            ] + kinds)
    }
}
