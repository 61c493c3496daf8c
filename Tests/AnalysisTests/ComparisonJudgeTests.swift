// Judge 2: significance at the interval's spent α and a practical size together, for errors and latency; honest summaries.

import Testing
import Config
import Telemetry
@testable import Analysis

@Suite struct ComparisonJudgeTests {
    /// The defaults, with the error allowance at 0.5 points: the fixtures below sit on either side of it.
    let config = {
        var c = ComparisonConfig(); c.allowedErrorRateIncrease = 0.5; return c
    }()
    /// The first interval's α: 0.01 / 2.
    let alpha = ComparisonJudge.spentAlpha(ComparisonConfig().alpha, interval: 1)

    func value(_ v: Verdict, _ name: String) -> Double { v.evidence.first { $0.name == name }!.value }

    /// n latencies spread evenly over [low, high) ms, `plus` ms later, each recorded `times` times.
    func uniform(_ n: Int, from low: Double, to high: Double, plus: Double = 0, times: UInt64 = 1) -> HistogramSnapshot {
        var h = HistogramSnapshot()
        for i in 0..<n { h.record(nanoseconds: UInt64((low + (high - low) * (Double(i) + 0.5) / Double(n) + plus) * 1e6), times: times) }
        return h
    }

    // MARK: errors

    @Test func significantErrorIncreaseBeyondTheAllowanceFails() {
        let v = ComparisonJudge.errors(
            canary: ArmWindow(n: 1200, failures: 60), primary: ArmWindow(n: 10800, failures: 60), config: config, minRequests: 10,
            alpha: alpha)
        #expect(alpha == 0.005)
        #expect(v.judge == "comparison-errors")
        #expect(v.outcome == .fail)
        #expect(close(value(v, "p-value"), 6.665016279351067e-29, relative: 1e-6))  // the FisherExactTest fixture
        #expect(value(v, "alpha") == alpha)
        #expect(close(value(v, "difference-points"), 5 - 100 * 60.0 / 10800))
        #expect(
            v.summary
                == "errors canary 5.00% (60/1200) vs primary 0.556% (60/10800): Fisher p=6.7e-29 ≤ α=0.0050 and +4.44 pts > 0.5 allowed")
        #expect(statesOnlyTrueInequalities(v.summary))
    }

    /// The interval's α decides: p = 0.0076 (3/20 vs 2/180) fails at α = 0.01 and passes at 0.005.
    @Test func theSpentAlphaIsTheLevel() {
        let canary = ArmWindow(n: 20, failures: 3), primary = ArmWindow(n: 180, failures: 2)
        #expect(ComparisonJudge.errors(canary: canary, primary: primary, config: config, minRequests: 10, alpha: 0.01).outcome == .fail)
        let v = ComparisonJudge.errors(canary: canary, primary: primary, config: config, minRequests: 10, alpha: 0.005)
        #expect(v.outcome == .pass)
        #expect(close(value(v, "p-value"), 0.00759292634877958, relative: 1e-6))
        #expect(v.summary.hasSuffix(": Fisher p=0.0076 > α=0.0050 (not significant; +13.9 pts > 0.5 allowed)"))
        #expect(statesOnlyTrueInequalities(v.summary))
    }

    @Test func significantButWithinTheAllowancePasses() {
        // 0.8 % vs 0.5 %: p = 1.3e-178 at this traffic, but only +0.3 points: the summary names the allowance.
        let v = ComparisonJudge.errors(
            canary: ArmWindow(n: 600_000, failures: 4_800), primary: ArmWindow(n: 5_400_000, failures: 27_000),
            config: config, minRequests: 10, alpha: alpha)
        #expect(close(value(v, "p-value"), 1.287145388743709e-178, relative: 1e-6))
        #expect(v.outcome == .pass)
        #expect(v.summary.hasSuffix(": +0.300 pts ≤ 0.5 allowed (Fisher p=1.3e-178 ≤ α=0.0050)"))
        #expect(statesOnlyTrueInequalities(v.summary))
    }

    @Test func largeButNotSignificantPasses() {
        // 1 failure of 50 vs 3 of 450: +1.33 points, p = 0.345 (scipy).
        let v = ComparisonJudge.errors(
            canary: ArmWindow(n: 50, failures: 1), primary: ArmWindow(n: 450, failures: 3), config: config, minRequests: 10, alpha: alpha)
        #expect(v.outcome == .pass)
        #expect(close(value(v, "p-value"), 0.3447785440216935, relative: 1e-6))
        #expect(v.summary.contains("(not significant; +1.33 pts > 0.5 allowed)"))
    }

    @Test func noErrorsAnywhereIsAPassAndTooFewRequestsIsNoData() {
        let clean = ComparisonJudge.errors(
            canary: ArmWindow(n: 100, failures: 0), primary: ArmWindow(n: 900, failures: 0), config: config, minRequests: 10, alpha: alpha)
        #expect(clean.outcome == .pass)
        #expect(clean.summary.hasSuffix("no failures on either arm"))
        let few = ComparisonJudge.errors(
            canary: ArmWindow(n: 100, failures: 50), primary: ArmWindow(n: 9, failures: 0), config: config, minRequests: 10, alpha: alpha)
        #expect(few.outcome == .noData)
        #expect(few.evidence == [.init("canary-requests", 100), .init("primary-requests", 9), .init("min-requests", 10)])
        // minRequests 0 still needs one request on each arm.
        let none = ComparisonJudge.errors(
            canary: ArmWindow(n: 0, failures: 0), primary: ArmWindow(n: 9, failures: 0), config: config, minRequests: 0, alpha: alpha)
        #expect(none.outcome == .noData)
    }

    // MARK: latency

    /// A 10 ms shift at a 30 ms median (primary uniform 20–40 ms, 2,000 each): the lower bound ≈ 9.8 ms
    /// exceeds max(5 ms, 0.2 × 30 ms) = 6 ms, P(canary slower) = 0.875 > 0.6: fail.
    @Test func aTenMillisecondShiftFails() {
        let primary = uniform(2_000, from: 20, to: 40), canary = uniform(2_000, from: 20, to: 40, plus: 10)
        let v = ComparisonJudge.latency(canary: canary, primary: primary, config: config, minRequests: 10, alpha: alpha)
        #expect(v.judge == "comparison-latency")
        #expect(v.outcome == .fail)
        #expect(abs(value(v, "shift-ms") - 10) < 0.2)
        #expect(value(v, "shift-lower-bound-ms") > 9 && value(v, "shift-lower-bound-ms") < value(v, "shift-ms"))
        #expect(abs(value(v, "practical-increase-ms") - 6) < 0.06)
        #expect(value(v, "min-latency-increase-ms") == 5)
        #expect(abs(value(v, "cles") - 0.875) < 0.01)
        #expect(v.summary.contains(": canary slower by at least "))
        #expect(statesOnlyTrueInequalities(v.summary), "\(v.summary)")
        // The practical size is the larger of the two: at minLatencyIncrease 12 ms the same shift passes.
        var strict = config
        strict.minLatencyIncrease = .milliseconds(12)
        let p = ComparisonJudge.latency(canary: canary, primary: primary, config: strict, minRequests: 10, alpha: alpha)
        #expect(p.outcome == .pass)
        #expect(p.summary.contains("the slowdown is not shown to exceed 12.0 ms: lower bound "))
        #expect(statesOnlyTrueInequalities(p.summary), "\(p.summary)")
    }

    /// The relative size: the same 10 ms at a 300 ms median is below 0.2 × 300 ms = 60 ms.
    @Test func aShiftSmallRelativeToTheServicePasses() {
        let primary = uniform(2_000, from: 200, to: 400), canary = uniform(2_000, from: 200, to: 400, plus: 10)
        let v = ComparisonJudge.latency(canary: canary, primary: primary, config: config, minRequests: 10, alpha: alpha)
        #expect(v.outcome == .pass)
        #expect(value(v, "shift-lower-bound-ms") > 0)
        #expect(abs(value(v, "practical-increase-ms") - 60) < 0.6)
        #expect(statesOnlyTrueInequalities(v.summary), "\(v.summary)")
    }

    @Test func identicalDistributionsPassAtAnySizes() {
        for (nc, np, times) in [(100, 100, UInt64(1)), (600, 5_400, 1), (2_000, 2_000, 50)] {
            let v = ComparisonJudge.latency(
                canary: uniform(nc, from: 20, to: 40, times: times), primary: uniform(np, from: 20, to: 40, times: 9 * times),
                config: config, minRequests: 10, alpha: alpha)
            #expect(v.outcome == .pass, "\(nc)/\(np)")
            #expect(value(v, "shift-lower-bound-ms") <= 0)
            #expect(statesOnlyTrueInequalities(v.summary), "\(v.summary)")
        }
    }

    /// A 2 ms shift, below the 6 ms that matters, with 100,000 / 900,000 latencies: certain (its lower
    /// bound is above 0), and still a pass whose summary says what was not shown — not a false inequality.
    @Test func aSmallShiftPassesEvenWithHugeSamples() {
        let primary = uniform(4_000, from: 20, to: 40, times: 225), canary = uniform(4_000, from: 20, to: 40, plus: 2, times: 25)
        let v = ComparisonJudge.latency(canary: canary, primary: primary, config: config, minRequests: 10, alpha: alpha)
        #expect(value(v, "canary-requests") == 100_000 && value(v, "primary-requests") == 900_000)
        #expect(v.outcome == .pass)
        let bound = value(v, "shift-lower-bound-ms")
        #expect(bound > 1.5 && bound < 2.1)
        #expect(v.summary.contains(": the slowdown is not shown to exceed 6.00 ms: lower bound \(Format.short(bound)) ms"), "\(v.summary)")
        #expect(statesOnlyTrueInequalities(v.summary), "\(v.summary)")
    }

    /// Certain and large but not often enough (P(slower) ≈ 0.875 ≤ 0.9): the pass says so, and every
    /// inequality it states holds.
    @Test func aPassOnTheSlowdownProbabilityNamesIt() {
        var lenient = config
        lenient.allowedSlowdown = 0.9
        let v = ComparisonJudge.latency(
            canary: uniform(2_000, from: 20, to: 40, plus: 10), primary: uniform(2_000, from: 20, to: 40), config: lenient, minRequests: 10,
            alpha: alpha)
        #expect(v.outcome == .pass)
        #expect(v.summary.contains(": P(canary slower)=\(Format.fixed(value(v, "cles"), 2)) ≤ 0.9 though its lower bound "), "\(v.summary)")
        #expect(statesOnlyTrueInequalities(v.summary), "\(v.summary)")
    }

    /// The checker itself: it reads the inequalities of a summary and catches a false one.
    @Test func theSummaryCheckerCatchesAFalseInequality() {
        #expect(!statesOnlyTrueInequalities("p99 ratio 11.49× ≤ 1.2× allowed"))
        #expect(!statesOnlyTrueInequalities("lower bound 9.8 ms > 12.0 ms"))
        #expect(!statesOnlyTrueInequalities("Fisher p=0.345 ≤ α=0.0050"))
        #expect(statesOnlyTrueInequalities("Fisher p=0.0076 > α=0.0050 and +13.9 pts > 0.5 allowed"))
        #expect(statedInequalities("e-value 10^-0.52 < 10^2.00 = 1/α").map(\.left) == [-0.52])
    }

    /// A tail regression (5 % of canary requests 10× slower) moves no shift: the comparison passes, and
    /// it is the sequential judge's slow class that tests the tail (RolloutJudgesTests).
    @Test func aTailRegressionIsNotAShift() {
        let primary = histogram(milliseconds: [10, 12], counts: [9900, 100])
        let canary = histogram(milliseconds: [10, 100], counts: [950, 50])
        let v = ComparisonJudge.latency(canary: canary, primary: primary, config: config, minRequests: 10, alpha: alpha)
        #expect(value(v, "shift-ms") == 0)
        #expect(v.outcome == .pass)
    }

    @Test func emptyIsNoDataAndEvaluateReturnsBothOrNothing() {
        let bigger = histogram(milliseconds: sixLatencies, counts: [100, 200, 300, 200, 100, 20])
        #expect(
            ComparisonJudge.latency(canary: HistogramSnapshot(), primary: bigger, config: config, minRequests: 10, alpha: alpha).outcome
                == .noData)
        let canary = ArmWindow(n: 92, failures: 0, histogram: histogram(milliseconds: sixLatencies, counts: [10, 20, 30, 20, 10, 2]))
        let primary = ArmWindow(n: 920, failures: 2, histogram: bigger)
        #expect(
            ComparisonJudge.evaluate(canary: canary, primary: primary, config: config, minRequests: 10, alpha: alpha).map(\.judge)
                == ["comparison-errors", "comparison-latency"])
        var off = config
        off.enabled = false
        #expect(ComparisonJudge.evaluate(canary: canary, primary: primary, config: off, minRequests: 10, alpha: alpha).isEmpty)
    }

    // MARK: the level over a rollout

    /// α_i = α / (i (i + 1)): over 1,000 intervals the comparison spends α (1 − 1/1001) ≤ α.
    @Test func spentAlphaSumsToAtMostAlpha() {
        let a = 0.01
        #expect(ComparisonJudge.spentAlpha(a, interval: 1) == a / 2)
        #expect(ComparisonJudge.spentAlpha(a, interval: 0) == a / 2)
        var spent = 0.0
        for i in 1...1_000 {
            let ai = ComparisonJudge.spentAlpha(a, interval: i)
            #expect(ai > 0 && ai < a)
            spent += ai
        }
        #expect(spent <= a)
        #expect(close(spent, a * (1 - 1.0 / 1001), relative: 1e-12))
    }
}
