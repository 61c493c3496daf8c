// The watch after a promotion: the new primary's interval judged against the old primary's pre-promotion baseline.
import Config

/// `analysis.watch` (README, "After promotion"): every interval after Succeeded, the primary arm — now the
/// new revision — is compared with the primary arm's own measurements over the last analysed intervals before
/// the promotion (the old revision: the baseline), with the comparison's machinery the other way round from a
/// rollout's: the new primary is the sample under test ("canary") and the baseline is the control ("primary").
///
/// - `watch-comparison-errors`, `watch-comparison-latency`: `ComparisonJudge.errors` and `.latency`, the i-th
///   watch interval at α / (i (i + 1)) of `comparison.alpha`, so a whole watch spends at most that α on false
///   undos. Without `comparison.enabled`, none.
/// - `watch-<metric>`: the `metrics` thresholds on the new primary's interval, as the canary's were judged.
///
/// The baseline was measured while the canary took part of the traffic (`maxWeight` at the end of a rollout),
/// so the old primary carried less load than the new one does: the latency test's practical margins
/// (`minLatencyIncrease`, `maxLatencyRatio`) are what absorb that difference.
public enum WatchJudge {
    /// The analysed intervals before the promotion whose primary windows make the baseline.
    public static let baselineIntervals = 3

    /// The baseline from the primary's windows of the last analysed intervals (oldest first); nil if none.
    public static func baseline(_ windows: [ArmWindow]) -> ArmWindow? {
        guard let first = windows.first else { return nil }
        return windows.dropFirst().reduce(first) { $0.merged(with: $1) }
    }

    /// The `index`-th (1-based) watch interval's verdicts; one "no data" verdict without a baseline.
    public static func evaluate(current: ArmWindow, baseline: ArmWindow?, analysis: AnalysisConfig, index: Int) -> [Verdict] {
        guard let baseline else {
            return [
                Verdict(
                    judge: "watch", outcome: .noData,
                    summary: "no pre-promotion baseline of the previous primary (the proxy restarted before it was kept)",
                    evidence: [.init("primary-requests", Double(current.n))])
            ]
        }
        var verdicts: [Verdict] = []
        let comparison = analysis.comparison
        if comparison.enabled {
            let alpha = ComparisonJudge.spentAlpha(comparison.alpha, interval: index)
            verdicts.append(
                ComparisonJudge.errors(
                    canary: current, primary: baseline, config: comparison, minRequests: analysis.minRequests, alpha: alpha))
            verdicts.append(
                ComparisonJudge.latency(
                    canary: current.histogram, primary: baseline.histogram, config: comparison, minRequests: analysis.minRequests,
                    alpha: alpha, reference: "the previous primary's pre-promotion baseline"))
        }
        verdicts += ThresholdJudge.evaluate(canary: current, checks: analysis.metrics, minRequests: analysis.minRequests)
        // "canary" in the summaries is the new primary here, "primary" the baseline.
        return verdicts.map {
            Verdict(
                judge: "watch-" + $0.judge, outcome: $0.outcome,
                summary: "new primary (as canary) vs the old primary's baseline (as primary): " + $0.summary, evidence: $0.evidence)
        }
    }
}

extension ArmWindow {
    /// Two windows of one arm as one: counts summed, histograms merged.
    public func merged(with other: ArmWindow) -> ArmWindow {
        ArmWindow(
            n: n + other.n, failures: failures + other.failures, clientErrors: clientErrors + other.clientErrors,
            aborts: aborts + other.aborts, histogram: histogram.merged(with: other.histogram),
            slowInFlight: slowInFlight + other.slowInFlight, slowMarkedAnswered: slowMarkedAnswered + other.slowMarkedAnswered)
    }
}
