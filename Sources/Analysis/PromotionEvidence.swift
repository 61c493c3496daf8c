// Evidence before a step up or a promotion: upper confidence bounds on the canary's excess of each bad class.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Config

/// The gate of every step up and of the promotion (judge "evidence"): absence of evidence against
/// the canary is not evidence for it. At 2 req/s a canary failing 5 % of its requests would pass every
/// interval test for lack of data; this judge instead **holds** the weight until the data show that
/// the canary is not worse than the primary by more than the allowed margin, in every bad class.
///
/// For each class c (5xx, 4xx, abort, slow), over the requests of the current step (since the weight
/// last changed): an upper confidence bound U_c on the canary's rate and a lower bound L_c on the
/// primary's. The step passes when U_c − L_c ≤ the class's allowed excess (`allowedExcess`: the margin,
/// or more where the primary's own rate makes the margin meaningless) for every class; otherwise it holds, and
/// `progressDeadline` ends a rollout that cannot gather the evidence (failing safe).
///
/// The bounds are Chernoff's for a Bernoulli rate: U = the largest p ≥ p̂ with n · KL(p̂ ‖ p) ≤ ln(1/δ),
/// L the smallest p ≤ p̂ likewise (KL the Bernoulli divergence). Each holds with probability ≥ 1 − δ
/// at a given count. They are valid at every look — the interval is asked again and again — by a
/// union bound: look i of a step uses δ_i = δ / (8 i (i + 1)) (Σ_i over looks ≤ δ/8, and 8 bounds:
/// two arms × four classes). So the chance that this judge ever lets through a canary whose true
/// excess in some class exceeds the margin is at most δ = `level` per step. With no failure at all
/// the canary needs about ln(1/δ_i) / margin requests (≈ 580 at the default margin of 1 point on the
/// first look); at a 0.5 % base rate on both arms, about 1,300 (3,700 at a margin of 0.5 points).
///
/// As a rollout's judge (built when `requireEvidence` or `pace: evidence` asks for it) it looks at the
/// current step each interval (with `requireEvidence`) and, with `pace: evidence`, once per `minDwell`:
/// each look counts in the union bound like an interval's, so looking often would cost evidence (never
/// validity) — at a look a second a step needed twice the requests of one looked at every 10 s.
public struct PromotionEvidence {
    /// δ, the chance of passing a step whose canary is worse than the margin.
    public static let level = 0.05
    /// When `pace: evidence` last looked.
    private var lastPaceCheckAt: UInt64 = 0

    /// The verdict for the step's counts at its `look`-th interval (1-based), with `margin` a proportion.
    public static func evaluate(canary: OutcomeCounts, primary: OutcomeCounts, margin: Double, look: Int) -> Verdict {
        let i = Double(max(look, 1))
        let delta = level / (8 * i * (i + 1))
        var evidence: [Verdict.Evidence] = [
            .init("margin-points", 100 * margin), .init("level", level), .init("look", i),
            .init("canary-requests", Double(canary.requests)), .init("primary-requests", Double(primary.requests)),
        ]
        var short: [String] = []
        /// The class closest to (or furthest beyond) its allowance.
        var worst: (label: String, excess: Double, allowed: Double) = ("", -.infinity, 0)
        for c in OutcomeClass.allCases {
            let upper = upperBound(c, canary, delta), lower = lowerBound(c, primary, delta)
            let allowed = allowedExcess(c, primary: primary, margin: margin)
            let excess = upper - lower
            if excess - allowed > worst.excess - worst.allowed { worst = (c.label, excess, allowed) }
            evidence += [
                .init("canary-\(c.label)-upper-%", 100 * upper), .init("primary-\(c.label)-lower-%", 100 * lower),
                .init("allowed-\(c.label)-points", 100 * allowed),
            ]
            if excess > allowed {
                short.append("\(c.label) canary ≤ \(Format.short(100 * upper))% vs primary ≥ \(Format.short(100 * lower))%")
            }
        }
        evidence.append(.init("worst-excess-points", 100 * worst.excess))
        let closest = "\(worst.label) excess at most \(Format.short(100 * worst.excess)) pts"
        if short.isEmpty {
            return Verdict(
                judge: "evidence", outcome: .pass,
                summary: "every class within its allowance (closest: \(closest) ≤ \(Format.short(100 * worst.allowed)) allowed; "
                    + "95% bounds over canary \(canary.requests) / primary \(primary.requests) requests this step)",
                evidence: evidence)
        }
        return Verdict(
            judge: "evidence", outcome: .hold,
            summary: "not yet — \(short.joined(separator: ", ")) (\(closest) > \(Format.short(100 * worst.allowed)) allowed; "
                + "canary \(canary.requests) requests this step); weight held",
            evidence: evidence)
    }

    /// The excess allowed in class `c`: the margin, or a quarter of the primary's own rate when that is
    /// larger (a service whose clients meet 5 % of 404s anyway is not broken by 5.5 %), and for the slow
    /// class at least one point (a canary may have its own p98 where the primary has its p99: the arms
    /// carry different loads by construction).
    static func allowedExcess(_ c: OutcomeClass, primary: OutcomeCounts, margin: Double) -> Double {
        let n = primary.population(c)
        let relative = n == 0 ? 0 : 0.25 * Double(primary[c]) / Double(n)
        return max(margin, relative, c == .slow ? 0.01 : 0)
    }

    static func upperBound(_ c: OutcomeClass, _ counts: OutcomeCounts, _ delta: Double) -> Double {
        let n = counts.population(c)
        return n == 0 ? 1 : chernoffUpper(successes: counts[c], trials: n, delta: delta)
    }

    static func lowerBound(_ c: OutcomeClass, _ counts: OutcomeCounts, _ delta: Double) -> Double {
        let n = counts.population(c)
        guard n > 0 else { return 0 }
        let x = counts[c]
        return 1 - chernoffUpper(successes: n - min(x, n), trials: n, delta: delta)
    }

    /// The largest p ≥ x/n with n · KL(x/n ‖ p) ≤ ln(1/δ), by bisection.
    static func chernoffUpper(successes x: UInt64, trials n: UInt64, delta: Double) -> Double {
        let pHat = Double(min(x, n)) / Double(n), budget = log(1 / delta) / Double(n)
        func divergence(_ p: Double) -> Double {
            var d = 0.0
            if pHat > 0 { d += pHat * log(pHat / p) }
            if pHat < 1 { d += (1 - pHat) * log((1 - pHat) / (1 - p)) }
            return d
        }
        if pHat >= 1 { return 1 }
        var low = pHat, high = 1.0
        for _ in 0..<60 {
            let mid = (low + high) / 2
            if mid >= 1 || divergence(mid) > budget { high = mid } else { low = mid }
        }
        return high
    }
}

extension PromotionEvidence: Judge {
    public init?(configuredBy analysis: AnalysisConfig, continuing evidence: RolloutJudges.Evidence) {
        guard analysis.requireEvidence || analysis.pace == .evidence else { return nil }
    }

    public var name: String { "evidence" }

    /// With `requireEvidence`, the step's evidence at this look (judge "evidence"); a hold keeps the weight.
    public mutating func analyseInterval(_ interval: inout JudgeInterval) -> [Verdict] {
        guard interval.analysis.requireEvidence else { return [] }
        interval.step.looks += 1
        return [Self.evaluate(step: interval.step, analysis: interval.analysis)]
    }

    /// Once the step has lasted `minDwell`, and `minDwell` after its last look: whether the gate passes.
    public mutating func allowsAdvance(_ look: inout JudgeLook) -> Bool? {
        let dwell = look.analysis.minDwell.components
        let dwellNanoseconds = UInt64(dwell.seconds) * 1_000_000_000 + UInt64(dwell.attoseconds / 1_000_000_000)
        guard look.step.weight > 0, look.stepStartedAt > 0, look.now &- look.stepStartedAt >= dwellNanoseconds,
            look.now &- lastPaceCheckAt >= dwellNanoseconds
        else { return false }
        lastPaceCheckAt = look.now
        look.step.looks += 1
        return Self.evaluate(step: look.step, analysis: look.analysis).outcome == .pass
    }

    /// The verdict over the step's counts at its latest look, the margin the comparison's allowed increase.
    static func evaluate(step: RolloutJudges.Evidence.Step, analysis: AnalysisConfig) -> Verdict {
        evaluate(canary: step.canary, primary: step.primary, margin: analysis.comparison.allowedErrorRateIncrease / 100, look: step.looks)
    }
}
