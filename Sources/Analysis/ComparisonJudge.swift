// Judge 2: the canary compared with the primary over the same interval — errors (Fisher's exact test) and latency (a shift).

import Config
import Telemetry

/// Judge 2 (docs/JUDGES.md): both arms over the *same* interval, two verdicts, each failing only when
/// the difference is statistically significant at this interval's level **and** larger than a
/// difference a person configured as mattering.
///
/// **The level is spent, not repeated.** The judge runs every interval of a rollout; testing each at
/// α would give a rollout of n intervals up to n·α chances of a false failure. The controller passes
/// the i-th interval of the rollout α_i = α / (i (i + 1)) (`spentAlpha`), so Σ_i α_i ≤ α over the
/// whole rollout: `comparison.alpha` is this judge's share of the rollout's false-rollback budget.
///
/// **`comparison-errors`** — `FisherExactTest`, one-sided: fails when p ≤ α_i and
/// `x_c/n_c − x_p/n_p > allowedErrorRateIncrease` (percentage points). Exact at any sample size. Failures
/// that cluster (an outage fails every request for a second) are not independent; the counts are
/// divided by the interval's dispersion φ (`Dispersion`) first, the quasi-binomial correction.
/// - *No data* when either arm has fewer than `minRequests` responses (at least 1).
/// - No failure on either arm: **pass** — there is nothing that could count against the canary.
///
/// **`comparison-latency`** — a shift, not a rank: the Hodges-Lehmann shift of the canary's latencies
/// over the primary's with its lower confidence bound at α_i (`ShiftEstimate`). Fails when that bound
/// exceeds **both** `minLatencyIncrease` and `(maxLatencyRatio − 1)` × the primary's median, and the
/// probability that a canary request is slower (the CLES) exceeds `allowedSlowdown`. So a failure
/// needs a slowdown that is certain, large in milliseconds, and large relative to the service — a rank
/// test alone rolled back identical backends at different loads (P(slower) = 0.65 with equal p99s).
/// Tail-only regressions (a few percent of requests much slower) are the sequential judge's "slow"
/// class, which tests the tail directly.
/// - *No data* when either histogram has fewer than `minRequests` values (at least 1).
///
/// A disabled comparison (`config.enabled == false`) returns no verdicts.
///
/// As one of a rollout's judges (built when `comparison.enabled`), it counts the intervals it has tested
/// (its memory, `comparedIntervals` in the state file), each tick's failures for the interval's
/// dispersion, and the primary's latencies of each step by the canary's weight then: above 50 % the
/// latency is compared with the primary at matched load, its step at the mirrored weight
/// (`RolloutJudges.observeTick` says why).
public struct ComparisonJudge {
    /// Intervals tested by the comparison in this rollout so far (the next is tested at α / ((n+1)(n+2))).
    public struct TestedIntervals: JudgeMemory {
        public static let key = "comparedIntervals"
        public var count = 0

        public init(newRolloutUnder analysis: AnalysisConfig) {}

        /// A bare number in the state file.
        public init(from decoder: any Decoder) throws { count = try decoder.singleValueContainer().decode(Int.self) }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(count)
        }
    }

    private var tested: TestedIntervals
    /// The primary's latencies over each step, by the canary's weight then.
    private var primaryLatencyByWeight: [Int: HistogramSnapshot] = [:]
    /// The current interval's per-tick failures.
    private var dispersion = Dispersion()

    /// α_i for the i-th interval (1-based) of a rollout.
    public static func spentAlpha(_ alpha: Double, interval i: Int) -> Double {
        let i = Double(max(i, 1))
        return alpha / (i * (i + 1))
    }

    /// `[comparison-errors, comparison-latency]` at level `alpha` (this interval's α_i), or `[]` when disabled.
    public static func evaluate(
        canary: ArmWindow, primary: ArmWindow, config: ComparisonConfig, minRequests: Int, alpha: Double, dispersion: Double = 1
    ) -> [Verdict] {
        guard config.enabled else { return [] }
        return [
            errors(canary: canary, primary: primary, config: config, minRequests: minRequests, alpha: alpha, dispersion: dispersion),
            latency(canary: canary.histogram, primary: primary.histogram, config: config, minRequests: minRequests, alpha: alpha),
        ]
    }

    /// The error-rate verdict (`comparison-errors`).
    /// `dispersion` (φ ≥ 1, from `Dispersion`) divides every count before the test: failures that come
    /// in clusters carry the information of fewer independent ones (the quasi-binomial model).
    public static func errors(
        canary: ArmWindow, primary: ArmWindow, config: ComparisonConfig, minRequests: Int, alpha: Double, dispersion: Double = 1
    ) -> Verdict {
        let judge = "comparison-errors"
        let required = UInt64(max(minRequests, 1))
        guard canary.n >= required, primary.n >= required else {
            return Verdict(
                judge: judge, outcome: .noData,
                summary: "error comparison: no data, \(canary.n) canary / \(primary.n) primary requests, \(required) each required",
                evidence: [
                    .init("canary-requests", Double(canary.n)), .init("primary-requests", Double(primary.n)),
                    .init("min-requests", Double(required)),
                ])
        }
        let test = FisherExactTest(
            canaryFailures: canary.failures, canaryRequests: canary.n,
            primaryFailures: primary.failures, primaryRequests: primary.n)
        let phi = max(1, dispersion)
        func effective(_ count: UInt64) -> UInt64 { UInt64((Double(count) / phi).rounded()) }
        let p =
            phi == 1
            ? test.pValue
            : FisherExactTest(
                canaryFailures: effective(canary.failures), canaryRequests: max(1, effective(canary.n)),
                primaryFailures: effective(primary.failures), primaryRequests: max(1, effective(primary.n))
            ).pValue
        let differencePoints = 100 * test.difference
        let significant = p <= alpha
        let beyondAllowance = differencePoints > config.allowedErrorRateIncrease
        let failed = significant && beyondAllowance
        let rates =
            "canary \(Format.short(100 * test.canaryRate))% (\(canary.failures)/\(canary.n)) vs primary "
            + "\(Format.short(100 * test.primaryRate))% (\(primary.failures)/\(primary.n))"
        let reason: String
        if canary.failures + primary.failures == 0 {
            reason = "no failures on either arm"
        } else {
            let sign = differencePoints >= 0 ? "+" : ""
            let effect =
                "\(sign)\(Format.short(differencePoints)) pts \(beyondAllowance ? ">" : "≤") \(Format.trimmed(config.allowedErrorRateIncrease)) allowed"
            let test =
                "Fisher p=\(Format.probability(p)) \(significant ? "≤" : ">") α=\(Format.probability(alpha))"
                + (phi > 1 ? " (counts ÷ dispersion \(Format.fixed(phi, 1)))" : "")
            // Say which condition decided: both for a failure, the first unmet one for a pass.
            reason = failed ? "\(test) and \(effect)" : !significant ? "\(test) (not significant; \(effect))" : "\(effect) (\(test))"
        }
        return Verdict(
            judge: judge, outcome: failed ? .fail : .pass, summary: "errors \(rates): \(reason)",
            evidence: [
                .init("canary-error-rate", 100 * test.canaryRate), .init("primary-error-rate", 100 * test.primaryRate),
                .init("difference-points", differencePoints), .init("allowed-increase-points", config.allowedErrorRateIncrease),
                .init("p-value", p), .init("alpha", alpha), .init("dispersion", phi),
                .init("canary-requests", Double(canary.n)), .init("canary-failures", Double(canary.failures)),
                .init("primary-requests", Double(primary.n)), .init("primary-failures", Double(primary.failures)),
            ])
    }

    /// The latency verdict (`comparison-latency`).
    /// `reference` names the primary's latencies when they are not this interval's (e.g. at matched load).
    public static func latency(
        canary: HistogramSnapshot, primary: HistogramSnapshot, config: ComparisonConfig, minRequests: Int, alpha: Double,
        reference: String? = nil
    ) -> Verdict {
        let judge = "comparison-latency"
        let required = UInt64(max(minRequests, 1))
        guard canary.count >= required, primary.count >= required,
            let canaryMedian = canary.quantile(0.5), let primaryMedian = primary.quantile(0.5)
        else {
            return Verdict(
                judge: judge, outcome: .noData,
                summary:
                    "latency comparison: no data, \(canary.count) canary / \(primary.count) primary latencies, \(required) each required",
                evidence: [
                    .init("canary-requests", Double(canary.count)), .init("primary-requests", Double(primary.count)),
                    .init("min-requests", Double(required)),
                ])
        }
        let shift = ShiftEstimate(canary: canary, primary: primary, alpha: alpha)
        let cles = MannWhitneyTest(canary: canary, primary: primary).cles
        let floor = Double(config.minLatencyIncrease.components.seconds) + Double(config.minLatencyIncrease.components.attoseconds) * 1e-18
        let relative = (config.maxLatencyRatio - 1) * primaryMedian
        let practical = max(floor, relative)
        let certainAndLarge = shift.lowerBound > practical
        let often = cles > config.allowedSlowdown
        let failed = certainAndLarge && often
        let ms = { (seconds: Double) in Format.short(seconds * 1000) + " ms" }
        let bound = shift.lowerBound.isFinite ? ms(shift.lowerBound) : "unbounded (too few requests)"
        let size =
            "the larger of \(ms(floor)) and \(Format.trimmed(config.maxLatencyRatio))× the primary's median \(ms(primaryMedian)) − 1×"
        let reason: String
        if failed {
            reason =
                "canary slower by at least \(bound) > \(ms(practical)) (\(size)), P(canary slower)=\(Format.fixed(cles, 2)) > \(Format.trimmed(config.allowedSlowdown))"
        } else if !certainAndLarge {
            reason = "the slowdown is not shown to exceed \(ms(practical)): lower bound \(bound)"
        } else {
            reason =
                "P(canary slower)=\(Format.fixed(cles, 2)) ≤ \(Format.trimmed(config.allowedSlowdown)) though its lower bound \(bound) > \(ms(practical))"
        }
        let summary =
            "latency: shift \(ms(shift.estimate)) (medians \(ms(canaryMedian)) vs \(ms(primaryMedian)), n=\(canary.count)/\(primary.count)"
            + (reference.map { ", against \($0)" } ?? "") + "): \(reason)"
        return Verdict(
            judge: judge, outcome: failed ? .fail : .pass, summary: summary,
            evidence: [
                .init("shift-ms", shift.estimate * 1000), .init("shift-lower-bound-ms", shift.lowerBound * 1000),
                .init("practical-increase-ms", practical * 1000), .init("min-latency-increase-ms", floor * 1000),
                .init("canary-median-ms", canaryMedian * 1000), .init("primary-median-ms", primaryMedian * 1000),
                .init("max-latency-ratio", config.maxLatencyRatio), .init("cles", cles), .init("allowed-slowdown", config.allowedSlowdown),
                .init("alpha", alpha), .init("canary-requests", Double(canary.count)), .init("primary-requests", Double(primary.count)),
            ])
    }
}

extension ComparisonJudge: Judge {
    public init?(configuredBy analysis: AnalysisConfig, continuing evidence: RolloutJudges.Evidence) {
        guard analysis.comparison.enabled else { return nil }
        tested = evidence[TestedIntervals.self]
    }

    public var name: String { "comparison" }
    public static var memoryType: (any JudgeMemory.Type)? { TestedIntervals.self }
    public var memory: (any JudgeMemory)? { tested }

    /// The interval's dispersion carries on: a new rollout's first interval may hold ticks of the previous one.
    public mutating func beginRollout(_ analysis: AnalysisConfig) {
        tested = TestedIntervals(newRolloutUnder: analysis)
        primaryLatencyByWeight.removeAll()
    }

    public mutating func observeTick(_ tick: JudgeTick) -> Verdict? {
        dispersion.add(canary: tick.canary, primary: tick.primary)
        return nil
    }

    /// `[comparison-errors, comparison-latency]` at the α this interval may spend.
    public mutating func analyseInterval(_ interval: inout JudgeInterval) -> [Verdict] {
        let analysis = interval.analysis, canary = interval.canary, primary = interval.primary, weight = interval.step.weight
        if weight >= 0, primary.histogram.count > 0 {
            primaryLatencyByWeight[weight] = primaryLatencyByWeight[weight].map { $0.merged(with: primary.histogram) } ?? primary.histogram
        }
        defer { dispersion = Dispersion() }
        let alpha = Self.spentAlpha(analysis.comparison.alpha, interval: tested.count + 1)
        // Above 50 %, the primary at matched load: its step at the mirrored weight, when there was one.
        let mirrored =
            weight > 50 ? primaryLatencyByWeight[100 - weight].flatMap { $0.count >= UInt64(analysis.minRequests) ? $0 : nil } : nil
        let verdicts = [
            Self.errors(
                canary: canary, primary: primary, config: analysis.comparison, minRequests: analysis.minRequests,
                alpha: alpha, dispersion: dispersion.phi),
            Self.latency(
                canary: canary.histogram, primary: mirrored ?? primary.histogram, config: analysis.comparison,
                minRequests: analysis.minRequests, alpha: alpha,
                reference: mirrored == nil ? nil : "the primary at matched load (its step at weight \(100 - weight)%)"),
        ]
        // Only an interval that was actually tested spends α.
        if verdicts.contains(where: { $0.outcome != .noData }) { tested.count += 1 }
        return verdicts
    }
}

extension RolloutJudges.Evidence {
    /// Intervals tested by the comparison in this rollout.
    public var comparedIntervals: Int { self[ComparisonJudge.TestedIntervals.self].count }
}

extension RolloutJudges {
    /// The comparison's α not yet spent: α − Σ_{i ≤ n} α / (i (i + 1)) = α / (n + 1).
    public var comparisonAlphaRemaining: Double {
        analysis.comparison.enabled ? analysis.comparison.alpha / Double(evidence.comparedIntervals + 1) : 0
    }
}
