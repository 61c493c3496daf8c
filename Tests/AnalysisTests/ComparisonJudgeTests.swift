// Judge 2: significance and effect allowance together, for errors and latency; no-data and degenerate cases.

import Testing
import Config
import Telemetry
@testable import Analysis

@Suite struct ComparisonJudgeTests {
    let config = ComparisonConfig()

    @Test func significantErrorIncreaseBeyondTheAllowanceFails() {
        let v = ComparisonJudge.errors(
            canary: ArmWindow(n: 1200, failures: 60), primary: ArmWindow(n: 10800, failures: 60), config: config, minRequests: 10)
        #expect(v.judge == "comparison-errors")
        #expect(v.outcome == .fail)
        let z = v.evidence.first { $0.name == "z" }!.value
        #expect(close(z, 14.679516868351474))   // the TwoProportionTest fixture
        #expect(v.evidence.first { $0.name == "z-critical" }!.value == Normal.upperCritical(alpha: 0.05))
        #expect(close(v.evidence.first { $0.name == "difference-points" }!.value, 5 - 100 * 60.0 / 10800))
        #expect(v.summary.hasPrefix("errors canary 5.00% (60/1200) vs primary 0.556% (60/10800): z=14.68 > 1.64"))
    }

    @Test func significantButWithinTheAllowancePasses() {
        // 0.8 % vs 0.5 %: hugely significant at this traffic, but only +0.3 points.
        let v = ComparisonJudge.errors(
            canary: ArmWindow(n: 600_000, failures: 4_800), primary: ArmWindow(n: 5_400_000, failures: 27_000),
            config: config, minRequests: 10)
        #expect(v.evidence.first { $0.name == "z" }!.value > 9)
        #expect(v.outcome == .pass)
    }

    @Test func largeButNotSignificantPasses() {
        // 1 failure of 50 vs 3 of 450: +1.33 points, z ≈ 1.00 (fixture).
        let v = ComparisonJudge.errors(
            canary: ArmWindow(n: 50, failures: 1), primary: ArmWindow(n: 450, failures: 3), config: config, minRequests: 10)
        #expect(v.outcome == .pass)
        #expect(close(v.evidence.first { $0.name == "z" }!.value, 1.0040241611281235))
    }

    @Test func noErrorsAnywhereIsAPassAndTooFewRequestsIsNoData() {
        let clean = ComparisonJudge.errors(
            canary: ArmWindow(n: 100, failures: 0), primary: ArmWindow(n: 900, failures: 0), config: config, minRequests: 10)
        #expect(clean.outcome == .pass)
        #expect(clean.summary.hasSuffix("no failures on either arm"))
        let few = ComparisonJudge.errors(
            canary: ArmWindow(n: 100, failures: 50), primary: ArmWindow(n: 9, failures: 0), config: config, minRequests: 10)
        #expect(few.outcome == .noData)
        #expect(few.evidence == [.init("canary-requests", 100), .init("primary-requests", 9), .init("min-requests", 10)])
    }

    @Test func broadSlowdownFails() {
        // Fixture B: U = 1183.5, z = 5.256, CLES = 1183.5 / (34 · 41) = 0.849.
        let canary = histogram(milliseconds: sixLatencies, counts: [1, 2, 4, 9, 12, 6])
        let primary = histogram(milliseconds: sixLatencies, counts: [10, 14, 9, 5, 2, 1])
        let v = ComparisonJudge.latency(canary: canary, primary: primary, config: config, minRequests: 10)
        #expect(v.judge == "comparison-latency")
        #expect(v.outcome == .fail)
        #expect(v.evidence.first { $0.name == "u" }!.value == 1183.5)
        #expect(close(v.evidence.first { $0.name == "z" }!.value, 5.256401087455328))
        #expect(close(v.evidence.first { $0.name == "cles" }!.value, 1183.5 / (34 * 41), relative: 1e-15))
    }

    @Test func tailRegressionFailsThroughTheP99Ratio() {
        // 5 % of canary requests 10× slower: CLES only 0.52, but p99 100 ms vs 10 ms.
        let primary = histogram(milliseconds: [10, 12], counts: [9900, 100])
        let canary = histogram(milliseconds: [10, 100], counts: [950, 50])
        let v = ComparisonJudge.latency(canary: canary, primary: primary, config: config, minRequests: 10)
        let cles = v.evidence.first { $0.name == "cles" }!.value
        #expect(cles < 0.6)
        #expect(close(cles, 0.52025, relative: 1e-12))
        #expect(v.evidence.first { $0.name == "p99-ratio" }!.value > 9)
        #expect(v.outcome == .fail)
    }

    @Test func sameDistributionPassesAndEmptyIsNoData() {
        let same = histogram(milliseconds: sixLatencies, counts: [10, 20, 30, 20, 10, 2])
        let bigger = histogram(milliseconds: sixLatencies, counts: [100, 200, 300, 200, 100, 20])
        let v = ComparisonJudge.latency(canary: same, primary: bigger, config: config, minRequests: 10)
        #expect(v.outcome == .pass)
        #expect(v.evidence.first { $0.name == "cles" }!.value == 0.5)
        let none = ComparisonJudge.latency(canary: HistogramSnapshot(), primary: bigger, config: config, minRequests: 10)
        #expect(none.outcome == .noData)
    }

    @Test func evaluateReturnsBothOrNothing() {
        let canary = ArmWindow(n: 92, failures: 0, histogram: histogram(milliseconds: sixLatencies, counts: [10, 20, 30, 20, 10, 2]))
        let primary = ArmWindow(n: 920, failures: 2, histogram: histogram(milliseconds: sixLatencies, counts: [100, 200, 300, 200, 100, 20]))
        #expect(ComparisonJudge.evaluate(canary: canary, primary: primary, config: config, minRequests: 10).map(\.judge)
            == ["comparison-errors", "comparison-latency"])
        var off = config
        off.enabled = false
        #expect(ComparisonJudge.evaluate(canary: canary, primary: primary, config: off, minRequests: 10).isEmpty)
    }
}
