// Judge 2: the canary compared with the primary over the same interval — errors (z-test) and latency (Mann-Whitney).

import Config
import Telemetry

/// Judge 2 (JUDGES.md §2, DESIGN.md §4; Kayenta-like): both arms over the *same* interval, two
/// verdicts, each failing only when the difference is both statistically significant at the
/// one-sided level `alpha` (critical value z_{1−α} = Φ⁻¹(1 − α)) **and** larger than the allowed
/// effect. Significance alone is not enough at high traffic, where a tiny difference is
/// "significant"; the allowance is what a person configures.
///
/// **`comparison-errors`** — `TwoProportionTest`: fails when `z > z_{1−α}` and
/// `x_c/n_c − x_p/n_p > allowedErrorRateIncrease` (percentage points).
/// - *No data* when either arm has fewer than `minRequests` responses (at least 1).
/// - p̂ = 0 (no failure on either arm): **pass**, not no-data — there is nothing that could count
///   against the canary, and holding the weight for lack of errors would stall every clean rollout.
///   Likewise p̂ = 1 (both arms failing everything): pass with z = 0 — the canary is no worse than
///   the primary; the absolute level is the threshold judge's and the dead-canary rule's business.
///
/// **`comparison-latency`** — `MannWhitneyTest` on the two latency histograms, with the effect
/// measured two ways: the CLES U_c/(n_c n_p) and the ratio canary p99 / primary p99 (histogram
/// quantiles, each within 0.78 % of the sample value). Fails when `z > z_{1−α}` **and**
/// (`CLES > allowedSlowdown` **or** `p99 ratio > maxLatencyRatio`). *Or*, because the two
/// allowances watch different regressions: the CLES a broad shift of the whole distribution, the p99
/// ratio a tail regression (a few percent of requests much slower) that barely moves the CLES;
/// requiring both would let either kind through. The significance condition still guards
/// against a noisy p99 at low counts. Each effect must also be at least `minLatencyIncrease` in
/// absolute terms (the mean for the CLES, the p99 for the ratio): two processes on one host differ by
/// fractions of a millisecond for reasons no user cares about (measured in the demo: healthy
/// canaries rolled back for a p99 of 0.2 ms vs 1.1 ms), and a ratio of tiny numbers is not a regression.
/// - *No data* when either histogram has fewer than `minRequests` values (at least 1).
///
/// A disabled comparison (`config.enabled == false`) returns no verdicts.
public enum ComparisonJudge {
    /// `[comparison-errors, comparison-latency]`, or `[]` when disabled.
    public static func evaluate(canary: ArmWindow, primary: ArmWindow, config: ComparisonConfig, minRequests: Int) -> [Verdict] {
        guard config.enabled else { return [] }
        return [
            errors(canary: canary, primary: primary, config: config, minRequests: minRequests),
            latency(canary: canary.histogram, primary: primary.histogram, config: config, minRequests: minRequests),
        ]
    }

    /// The error-rate verdict (`comparison-errors`).
    public static func errors(canary: ArmWindow, primary: ArmWindow, config: ComparisonConfig, minRequests: Int) -> Verdict {
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
        let test = TwoProportionTest(
            canaryFailures: canary.failures, canaryRequests: canary.n,
            primaryFailures: primary.failures, primaryRequests: primary.n)
        let critical = Normal.upperCritical(alpha: config.alpha)
        let differencePoints = 100 * test.difference
        let significant = test.z > critical
        let beyondAllowance = differencePoints > config.allowedErrorRateIncrease
        let outcome: Verdict.Outcome = significant && beyondAllowance ? .fail : .pass
        let rates = "canary \(Format.short(100 * test.canaryRate))% (\(canary.failures)/\(canary.n)) vs primary "
            + "\(Format.short(100 * test.primaryRate))% (\(primary.failures)/\(primary.n))"
        let reason: String
        if test.pooledRate == 0 {
            reason = "no failures on either arm"
        } else {
            let zText = "z=\(Format.fixed(test.z, 2)) \(significant ? ">" : "≤") \(Format.fixed(critical, 2))"
            let sign = differencePoints >= 0 ? "+" : ""
            let effectText = "\(sign)\(Format.short(differencePoints)) pts \(beyondAllowance ? ">" : "≤") \(Format.trimmed(config.allowedErrorRateIncrease)) allowed"
            reason = "\(zText), \(effectText)"
        }
        return Verdict(
            judge: judge, outcome: outcome, summary: "errors \(rates): \(reason)",
            evidence: [
                .init("canary-error-rate", 100 * test.canaryRate), .init("primary-error-rate", 100 * test.primaryRate),
                .init("difference-points", differencePoints), .init("allowed-increase-points", config.allowedErrorRateIncrease),
                .init("z", test.z), .init("z-critical", critical), .init("p-value", test.pValue), .init("alpha", config.alpha),
                .init("canary-requests", Double(canary.n)), .init("canary-failures", Double(canary.failures)),
                .init("primary-requests", Double(primary.n)), .init("primary-failures", Double(primary.failures)),
            ])
    }

    /// The latency verdict (`comparison-latency`).
    public static func latency(
        canary: HistogramSnapshot, primary: HistogramSnapshot, config: ComparisonConfig, minRequests: Int
    ) -> Verdict {
        let judge = "comparison-latency"
        let required = UInt64(max(minRequests, 1))
        guard canary.count >= required, primary.count >= required,
              let canaryP99 = canary.quantile(0.99), let primaryP99 = primary.quantile(0.99)
        else {
            return Verdict(
                judge: judge, outcome: .noData,
                summary: "latency comparison: no data, \(canary.count) canary / \(primary.count) primary latencies, \(required) each required",
                evidence: [
                    .init("canary-requests", Double(canary.count)), .init("primary-requests", Double(primary.count)),
                    .init("min-requests", Double(required)),
                ])
        }
        let test = MannWhitneyTest(canary: canary, primary: primary)
        let critical = Normal.upperCritical(alpha: config.alpha)
        let ratio = canaryP99 / primaryP99
        let significant = test.z > critical
        let floor = Double(config.minLatencyIncrease.components.seconds) + Double(config.minLatencyIncrease.components.attoseconds) * 1e-18
        let meanIncrease = canary.sumSeconds / Double(canary.count) - primary.sumSeconds / Double(primary.count)
        let broadSlowdown = test.cles > config.allowedSlowdown && meanIncrease >= floor
        let tailSlowdown = ratio > config.maxLatencyRatio && canaryP99 - primaryP99 >= floor
        let outcome: Verdict.Outcome = significant && (broadSlowdown || tailSlowdown) ? .fail : .pass
        let summary = "latency: z=\(Format.fixed(test.z, 2)) \(significant ? ">" : "≤") \(Format.fixed(critical, 2)), "
            + "P(canary slower)=\(Format.fixed(test.cles, 3)) \(broadSlowdown ? ">" : "≤") \(Format.trimmed(config.allowedSlowdown)), "
            + "p99 \(Format.short(canaryP99 * 1000)) ms vs \(Format.short(primaryP99 * 1000)) ms = "
            + "\(Format.fixed(ratio, 2))× \(tailSlowdown ? ">" : "≤") \(Format.trimmed(config.maxLatencyRatio))× "
            + "(n=\(canary.count)/\(primary.count))"
            + (significant && (test.cles > config.allowedSlowdown || ratio > config.maxLatencyRatio) && !(broadSlowdown || tailSlowdown)
                ? ", below the \(Format.short(floor * 1000)) ms minimum increase" : "")
        return Verdict(
            judge: judge, outcome: outcome, summary: summary,
            evidence: [
                .init("u", test.u), .init("z", test.z), .init("z-critical", critical), .init("p-value", test.pValue),
                .init("alpha", config.alpha), .init("cles", test.cles), .init("allowed-slowdown", config.allowedSlowdown),
                .init("canary-p99-ms", canaryP99 * 1000), .init("primary-p99-ms", primaryP99 * 1000),
                .init("p99-ratio", ratio), .init("max-latency-ratio", config.maxLatencyRatio),
                .init("mean-increase-ms", meanIncrease * 1000), .init("min-latency-increase-ms", floor * 1000),
                .init("canary-requests", Double(canary.count)), .init("primary-requests", Double(primary.count)),
            ])
    }
}
