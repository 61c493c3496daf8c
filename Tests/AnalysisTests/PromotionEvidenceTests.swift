// Evidence before a step: holds without data, passes on enough clean traffic, holds on a bad class; the bounds against Clopper-Pearson.

import Testing
@testable import Analysis
import Simulation

@Suite struct PromotionEvidenceTests {
    let margin = 0.005  // 0.5 percentage points, the default allowedErrorRateIncrease

    func value(_ v: Verdict, _ name: String) -> Double { v.evidence.first { $0.name == name }!.value }

    @Test func holdsWithoutCanaryRequests() {
        let v = PromotionEvidence.evaluate(canary: OutcomeCounts(), primary: OutcomeCounts(responses: 9_000), margin: margin, look: 1)
        #expect(v.judge == "evidence")
        #expect(v.outcome == .hold)
        #expect(value(v, "canary-5xx-upper-%") == 100)
        #expect(v.summary.hasSuffix("; canary 0 requests this step); weight held"))
        #expect(statesOnlyTrueInequalities(v.summary), "\(v.summary)")
    }

    /// 100 clean requests bound the canary's rate only to ≈ 5.6 %: far from 0.5 points.
    @Test func holdsWithAHundredCleanCanaryRequests() {
        let v = PromotionEvidence.evaluate(
            canary: OutcomeCounts(responses: 100), primary: OutcomeCounts(responses: 900), margin: margin, look: 1)
        #expect(v.outcome == .hold)
        #expect(value(v, "worst-excess-points") > 5 && value(v, "worst-excess-points") < 6)
        for c in OutcomeClass.allCases { #expect(v.summary.contains("\(c.label) canary ≤ ")) }
        #expect(statesOnlyTrueInequalities(v.summary), "\(v.summary)")
    }

    @Test func passesWithTwentyThousandCleanCanaryRequests() {
        let v = PromotionEvidence.evaluate(
            canary: OutcomeCounts(responses: 20_000), primary: OutcomeCounts(responses: 200_000), margin: margin, look: 1)
        #expect(v.outcome == .pass)
        #expect(value(v, "worst-excess-points") < 0.05)
        #expect(v.summary.hasPrefix("every class within its allowance (closest: "))
        #expect(v.summary.contains(" pts ≤ 0.500 allowed; "))
        #expect(statesOnlyTrueInequalities(v.summary), "\(v.summary)")
        // Still at the 10th look of the step, whose δ is 0.05 / 880.
        #expect(
            PromotionEvidence.evaluate(
                canary: OutcomeCounts(responses: 20_000), primary: OutcomeCounts(responses: 200_000), margin: margin, look: 10
            ).outcome == .pass)
    }

    /// Clean traffic needs about ln(1/δ_1) / margin = ln(320) / 0.005 ≈ 1,154 canary requests at the first look.
    @Test func cleanTrafficNeedsAboutLnOneOverDeltaOverMarginRequests() {
        let primary = OutcomeCounts(responses: 200_000)
        #expect(
            PromotionEvidence.evaluate(canary: OutcomeCounts(responses: 1_100), primary: primary, margin: margin, look: 1).outcome == .hold)
        #expect(
            PromotionEvidence.evaluate(canary: OutcomeCounts(responses: 1_200), primary: primary, margin: margin, look: 1).outcome == .pass)
        // Later looks spend less δ each: 1,200 no longer suffice at the fifth.
        #expect(
            PromotionEvidence.evaluate(canary: OutcomeCounts(responses: 1_200), primary: primary, margin: margin, look: 5).outcome == .hold)
    }

    /// A canary answering 20 % 4xx over 1,000 requests holds, and the summary names the class as the
    /// furthest beyond its allowance (1,000 requests are too few for the other classes too).
    @Test func holdsWhenOneClassIsWorse() {
        let v = PromotionEvidence.evaluate(
            canary: OutcomeCounts(responses: 1_000, clientErrors: 200), primary: OutcomeCounts(responses: 200_000, clientErrors: 2_000),
            margin: margin, look: 1)
        #expect(v.outcome == .hold)
        #expect(v.summary.contains("4xx canary ≤ "))
        #expect(v.summary.contains("(4xx excess at most "))
        #expect(value(v, "canary-4xx-upper-%") > 20)
        #expect(value(v, "primary-4xx-lower-%") < 1)
        #expect(statesOnlyTrueInequalities(v.summary), "\(v.summary)")
        // With a lot of traffic too: more data only sharpens a real excess, and 4xx alone holds.
        let more = PromotionEvidence.evaluate(
            canary: OutcomeCounts(responses: 100_000, clientErrors: 20_000),
            primary: OutcomeCounts(responses: 900_000, clientErrors: 9_000),
            margin: margin, look: 1)
        #expect(more.outcome == .hold)
        #expect(more.summary.contains("4xx canary ≤ "))
        for c in [OutcomeClass.serverError, .abort, .slow] { #expect(!more.summary.contains("\(c.label) canary ≤ ")) }
        #expect(statesOnlyTrueInequalities(more.summary), "\(more.summary)")
    }

    /// Each class's allowance: the margin, a quarter of the primary's own rate when larger, and at least
    /// one point for "slow". A canary at 5.5 % 4xx where the primary has 5 % passes; at 7 % it holds.
    @Test func theAllowanceGrowsWithThePrimarysOwnRate() {
        let primary = OutcomeCounts(responses: 900_000, serverErrors: 900, clientErrors: 45_000, slow: 9_000)
        #expect(PromotionEvidence.allowedExcess(.serverError, primary: primary, margin: margin) == margin)
        #expect(close(PromotionEvidence.allowedExcess(.clientError, primary: primary, margin: margin), 0.0125, relative: 1e-12))
        #expect(PromotionEvidence.allowedExcess(.slow, primary: primary, margin: margin) == 0.01)
        #expect(PromotionEvidence.allowedExcess(.abort, primary: OutcomeCounts(), margin: margin) == margin)
        let near = PromotionEvidence.evaluate(
            canary: OutcomeCounts(responses: 100_000, serverErrors: 100, clientErrors: 5_500, slow: 1_000), primary: primary,
            margin: margin, look: 1)
        #expect(near.outcome == .pass, "\(near.summary)")
        #expect(statesOnlyTrueInequalities(near.summary), "\(near.summary)")
        let worse = PromotionEvidence.evaluate(
            canary: OutcomeCounts(responses: 100_000, serverErrors: 100, clientErrors: 7_000, slow: 1_000), primary: primary,
            margin: margin, look: 1)
        #expect(worse.outcome == .hold)
        #expect(worse.summary.contains("(4xx excess at most ") && worse.summary.contains("> 1.25 allowed"), "\(worse.summary)")
    }

    /// Chernoff's upper bound is never tighter than the exact Clopper-Pearson bound at the same δ, and
    /// equal to it with no successes (both are 1 − δ^(1/n)). Clopper-Pearson from scipy 1.17.1:
    ///     scipy.stats.beta.ppf(1 - delta, x + 1, n - x)
    @Test func chernoffUpperIsAtLeastClopperPearson() {
        let cases: [(x: UInt64, n: UInt64, delta: Double, clopperPearson: Double)] = [
            (0, 100, 0.05, 0.029513049607039925),
            (3, 100, 0.05, 0.07571079374983004),
            (30, 6_000, 0.003125, 0.008051372425404126),
            (200, 1_000, 0.003125, 0.2366548580231643),
            (5, 20_000, 0.003125, 0.0007416840532546963),
        ]
        for c in cases {
            let u = PromotionEvidence.chernoffUpper(successes: c.x, trials: c.n, delta: c.delta)
            #expect(u >= c.clopperPearson * (1 - 1e-12), "\(c.x)/\(c.n) at δ \(c.delta): \(u) < \(c.clopperPearson)")
            // ... and not absurdly looser (within 25 % here).
            #expect(u <= 1.25 * c.clopperPearson, "\(c.x)/\(c.n): \(u)")
        }
        #expect(close(PromotionEvidence.chernoffUpper(successes: 0, trials: 100, delta: 0.05), 0.029513049607039925, relative: 1e-9))
        #expect(PromotionEvidence.chernoffUpper(successes: 7, trials: 7, delta: 0.05) == 1)
        // The lower bound mirrors it: 1 − the upper bound of the successes' complement.
        let lower = PromotionEvidence.lowerBound(.serverError, OutcomeCounts(responses: 1_000, serverErrors: 200), 0.003125)
        #expect(close(lower, 1 - PromotionEvidence.chernoffUpper(successes: 800, trials: 1_000, delta: 0.003125), relative: 1e-15))
        #expect(lower < 0.2 && lower > 0.15)
        #expect(PromotionEvidence.lowerBound(.slow, OutcomeCounts(aborts: 10), 0.05) == 0)
        #expect(PromotionEvidence.upperBound(.slow, OutcomeCounts(aborts: 10), 0.05) == 1)
    }

    /// Validity: a canary whose 5xx rate is 0.55 points above the primary's (1.05 % vs 0.5 %), judged at
    /// every 60 s interval of a 20-interval step at 1,000 req/s and 10 % weight, passes in at most δ (+3σ)
    /// of 500 seeded steps. Comparing the point estimates instead would pass most of them.
    @Test func aCanaryBeyondTheMarginRarelyPasses() {
        var rng = Xoshiro256(seed: 0xE71D_0001)
        let runs = 500
        var passed = 0, naive = 0
        for _ in 0..<runs {
            var canary = OutcomeCounts(), primary = OutcomeCounts()
            var stepPassed = false, naivePassed = false
            for look in 1...20 {
                let nc = rng.poisson(6_000), np = rng.poisson(54_000)
                canary = canary + OutcomeCounts(responses: nc, serverErrors: rng.binomial(nc, 0.0105))
                primary = primary + OutcomeCounts(responses: np, serverErrors: rng.binomial(np, 0.005))
                if PromotionEvidence.evaluate(canary: canary, primary: primary, margin: margin, look: look).outcome == .pass {
                    stepPassed = true
                }
                if Double(canary.serverErrors) / Double(canary.responses) - Double(primary.serverErrors) / Double(primary.responses)
                    <= margin
                {
                    naivePassed = true
                }
            }
            if stepPassed { passed += 1 }
            if naivePassed { naive += 1 }
        }
        let rate = Double(passed) / Double(runs)
        print(
            "measured: evidence passed \(rate) of \(runs) steps of a canary 0.55 pts worse (point estimates: \(Double(naive) / Double(runs)))"
        )
        #expect(rate <= threeSigmaBound(PromotionEvidence.level, runs: runs), "\(rate)")
        #expect(naive > runs / 2)
    }

    /// Power: a healthy canary (0.5 % 5xx on both arms, 1,000 req/s, 10 % weight, 60 s intervals) gathers
    /// the evidence within three intervals in at least 95 % of 200 seeded steps.
    @Test func aHealthyCanaryPassesWithinThreeIntervals() {
        var rng = Xoshiro256(seed: 0xE71D_0002)
        var within = 0
        for _ in 0..<200 {
            var canary = OutcomeCounts(), primary = OutcomeCounts()
            for look in 1...3 {
                let nc = rng.poisson(6_000), np = rng.poisson(54_000)
                canary = canary + OutcomeCounts(responses: nc, serverErrors: rng.binomial(nc, 0.005))
                primary = primary + OutcomeCounts(responses: np, serverErrors: rng.binomial(np, 0.005))
                if PromotionEvidence.evaluate(canary: canary, primary: primary, margin: margin, look: look).outcome == .pass {
                    within += 1
                    break
                }
            }
        }
        #expect(within >= 190, "\(within) of 200")
    }
}
