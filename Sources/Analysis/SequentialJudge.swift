// Judge 3: the anytime-valid mixture martingale over bad events, "which arm did this bad event come from?"

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Config

/// Judge 3 (JUDGES.md §3, DESIGN.md §4): a sequential test, anytime-valid, fed every control tick
/// (e.g. 100 ms) with the tick's request and bad-event counts of both arms. One instance per kind
/// of bad event: failures, and slow requests (latency above a threshold `T` fixed before the
/// events it judges — see `SlowThreshold`).
///
/// **Model.** Under H0 (the canary is as good as the primary) a bad event of a tick falls on the
/// canary with the canary's share of that tick's requests, `q = n_c / (n_c + n_p)`. Under H1 the
/// canary's odds are multiplied by θ > 1: `p(θ) = qθ / (1 − q + qθ)`. A tick with `k_c` bad canary
/// events and `k_p` bad primary events multiplies θ's likelihood ratio by
///
///     LR_tick(θ) = (p(θ)/q)^{k_c} · ((1 − p(θ))/(1 − q))^{k_p}
///                = θ^{k_c} / (1 − q + qθ)^{k_c + k_p}
///
/// and the evidence is the mixture `M = Σ_j w_j Π_ticks LR_tick(θ_j)` over θ ∈ {1.5, 2, 3, 5, 10,
/// 30} with equal weights w_j = 1/6, kept as logarithms: `ln M = logsumexp_j(ln w_j + L_j)` with
/// `L_j = Σ_ticks (k_c ln θ_j − (k_c + k_p) ln(1 − q + qθ_j))`, so nothing overflows.
///
/// **Guarantee.** Under H0 each `Π LR(θ_j)` is a non-negative martingale with mean 1 (given the
/// tick's counts, the product of Bernoulli(q) likelihood ratios), so is the mixture, and by Ville's
/// inequality P(M ever ≥ 1/α) ≤ α: the judge fails **as soon as M ≥ 1/α**, however often it is
/// looked at, with no minimum sample, no interval and no assumption about the traffic rate (which
/// changes at every weight step). Low traffic gives less evidence, never a false failure.
/// Conditioning on both arms' request counts makes the exact law of `k_c` hypergeometric; the
/// binomial form is accurate at failure rates of a few percent, and the calibration test
/// (`CalibrationTests`) measures the false-rollback rate on simulated healthy rollouts.
///
/// - Ticks where either arm had no requests carry no information and are skipped (q ∈ {0, 1}).
/// - The failure is sticky: once M has reached 1/α the verdict stays `.fail` until `reset()`
///   (the guarantee is about M *ever* crossing).
/// - The judge never answers *no data*: without evidence it passes; it only ever vetoes.
/// - Bad counts are capped at the tick's requests.
///
/// References: Lindon & Malek, "Anytime-Valid Inference for Multinomial Count Data", NeurIPS 2022
/// (arXiv 2011.03567); Lindon, Sanden & Shirikian, "Rapid Regression Detection in Software
/// Deployments through Sequential Testing", KDD 2022 (arXiv 2205.14762); Robbins, "Statistical
/// methods related to the law of the iterated logarithm", Ann. Math. Stat. 41, 1970 (mixture
/// martingales); Ville, *Étude critique de la notion de collectif*, 1939.
public struct SequentialJudge: Sendable, Equatable {
    /// The grid of odds ratios θ under H1, equally weighted.
    public static let thetas: [Double] = [1.5, 2, 3, 5, 10, 30]
    private static let logThetas: [Double] = thetas.map { log($0) }
    private static let logWeight = -log(Double(thetas.count))

    /// The false-rollback rate guaranteed: the judge fails when M ≥ 1/α.
    public let alpha: Double
    /// What the bad events are, for the summary: "failures", "slow requests".
    public let events: String
    /// ln(1/α).
    public let logThreshold: Double

    /// L_j = ln Π_ticks LR_tick(θ_j).
    private var logLikelihoods: [Double]
    /// ln M.
    public private(set) var logEValue: Double = 0
    /// Totals over the ticks the test used (ticks with requests on both arms).
    public private(set) var canaryRequests: UInt64 = 0
    public private(set) var canaryBad: UInt64 = 0
    public private(set) var primaryRequests: UInt64 = 0
    public private(set) var primaryBad: UInt64 = 0
    /// Ticks used, and ticks skipped because an arm had no requests.
    public private(set) var ticks: Int = 0
    public private(set) var skippedTicks: Int = 0
    /// M has reached 1/α (sticky until `reset()`).
    public private(set) var failed = false

    /// A judge at the configured `alpha` (`config.enabled` and `slowThreshold` are the
    /// controller's: it decides whether to feed the judge and what counts as slow).
    public init(config: SequentialConfig, events: String = "failures") {
        self.init(alpha: config.alpha, events: events)
    }

    /// A judge at level `alpha` in (0, 1).
    public init(alpha: Double, events: String = "failures") {
        precondition(alpha > 0 && alpha < 1, "alpha must be in (0, 1)")
        self.alpha = alpha
        self.events = events
        logThreshold = -log(alpha)
        logLikelihoods = [Double](repeating: 0, count: Self.thetas.count)
    }

    /// The e-value M (capped at the largest finite Double).
    public var eValue: Double { min(exp(logEValue), .greatestFiniteMagnitude) }

    /// Forgets all evidence (a new rollout, or a new weight after the controller decides to restart).
    public mutating func reset() {
        self = SequentialJudge(alpha: alpha, events: events)
    }

    /// Feeds one tick's counts; returns whether the judge has failed. The allocation-free form of
    /// `observe`, for simulations.
    @discardableResult
    public mutating func update(canaryRequests nc: UInt64, canaryBad kc: UInt64, primaryRequests np: UInt64, primaryBad kp: UInt64) -> Bool {
        guard nc > 0, np > 0 else {
            skippedTicks += 1
            return failed
        }
        let canaryBadHere = min(kc, nc), primaryBadHere = min(kp, np)
        ticks += 1
        canaryRequests += nc
        primaryRequests += np
        canaryBad += canaryBadHere
        primaryBad += primaryBadHere
        guard canaryBadHere > 0 || primaryBadHere > 0 else { return failed }
        let q = Double(nc) / (Double(nc) + Double(np))
        let kCanary = Double(canaryBadHere), kAll = Double(canaryBadHere + primaryBadHere)
        var largest = -Double.infinity
        for j in logLikelihoods.indices {
            logLikelihoods[j] += kCanary * Self.logThetas[j] - kAll * log1p(q * (Self.thetas[j] - 1))
            largest = max(largest, logLikelihoods[j])
        }
        var sum = 0.0
        for value in logLikelihoods { sum += exp(value - largest) }
        logEValue = Self.logWeight + largest + log(sum)
        if logEValue >= logThreshold { failed = true }
        return failed
    }

    /// Feeds one tick's counts and returns the judge's verdict (judge "sequential").
    public mutating func observe(canaryRequests: UInt64, canaryBad: UInt64, primaryRequests: UInt64, primaryBad: UInt64) -> Verdict {
        update(canaryRequests: canaryRequests, canaryBad: canaryBad, primaryRequests: primaryRequests, primaryBad: primaryBad)
        return verdict
    }

    /// The verdict for the evidence so far.
    public var verdict: Verdict {
        let log10M = logEValue / log(10.0)
        let log10Threshold = logThreshold / log(10.0)
        let comparison = failed ? "≥" : "<"
        let summary = "sequential (\(events)): e-value 10^\(Format.fixed(log10M, 2)) \(comparison) 10^\(Format.fixed(log10Threshold, 2)) = 1/α; "
            + "bad events canary \(canaryBad)/\(canaryRequests) vs primary \(primaryBad)/\(primaryRequests) over \(ticks) ticks"
        return Verdict(
            judge: "sequential", outcome: failed ? .fail : .pass, summary: summary,
            evidence: [
                .init("log10-e-value", log10M), .init("e-value", eValue), .init("e-value-threshold", 1 / alpha),
                .init("alpha", alpha),
                .init("canary-requests", Double(canaryRequests)), .init("canary-bad", Double(canaryBad)),
                .init("primary-requests", Double(primaryRequests)), .init("primary-bad", Double(primaryBad)),
                .init("ticks", Double(ticks)), .init("skipped-ticks", Double(skippedTicks)),
            ])
    }
}
