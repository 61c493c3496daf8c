// The watch after a promotion: the new primary against the old primary's pre-promotion baseline.

import Config
import Foundation
import Telemetry
import Testing

@testable import Analysis

@Suite struct WatchJudgeTests {
    /// n latencies spread evenly over [low, high) ms.
    func latencies(_ n: Int, from low: Double, to high: Double) -> HistogramSnapshot {
        var h = HistogramSnapshot()
        for i in 0..<n { h.record(nanoseconds: UInt64((low + (high - low) * (Double(i) + 0.5) / Double(n)) * 1e6)) }
        return h
    }

    let analysis = {
        var a = AnalysisConfig()
        a.minRequests = 10
        return a
    }()

    /// The old primary over the last analysed intervals: 3 windows of 1,000 requests, 0.1% failing, 10–20 ms.
    var baseline: ArmWindow {
        WatchJudge.baseline(
            (0..<3).map { _ in ArmWindow(n: 1000, failures: 1, histogram: latencies(1000, from: 10, to: 20)) })!
    }

    @Test func baselineMergesTheLastIntervals() {
        #expect(baseline.n == 3000)
        #expect(baseline.failures == 3)
        #expect(baseline.histogram.count == 3000)
        #expect(WatchJudge.baseline([]) == nil)
    }

    @Test func aNewPrimaryFailingMoreThanItsBaselineFails() {
        let current = ArmWindow(n: 2000, failures: 200, histogram: latencies(2000, from: 10, to: 20))
        let verdicts = WatchJudge.evaluate(current: current, baseline: baseline, analysis: analysis, index: 1)
        #expect(verdicts.map(\.judge) == ["watch-comparison-errors", "watch-comparison-latency"])
        #expect(verdicts[0].outcome == .fail)
        #expect(verdicts[0].summary.hasPrefix("new primary (as canary) vs the old primary's baseline (as primary): errors canary 10"))
        #expect(verdicts[1].outcome == .pass)
    }

    @Test func aSlowerNewPrimaryFailsTheLatencyComparison() {
        let current = ArmWindow(n: 2000, failures: 2, histogram: latencies(2000, from: 60, to: 80))
        let verdicts = WatchJudge.evaluate(current: current, baseline: baseline, analysis: analysis, index: 1)
        #expect(verdicts[1].outcome == .fail)
        #expect(verdicts[1].summary.contains("against the previous primary's pre-promotion baseline"))
    }

    @Test func aNewPrimaryLikeItsBaselinePasses() {
        let current = ArmWindow(n: 2000, failures: 2, histogram: latencies(2000, from: 10, to: 20))
        let verdicts = WatchJudge.evaluate(current: current, baseline: baseline, analysis: analysis, index: 1)
        #expect(verdicts.allSatisfy { $0.outcome == .pass })
    }

    @Test func laterIntervalsSpendLessAlpha() {
        let current = ArmWindow(n: 2000, failures: 2, histogram: latencies(2000, from: 10, to: 20))
        let third = WatchJudge.evaluate(current: current, baseline: baseline, analysis: analysis, index: 3)
        #expect(third[0].evidence.first { $0.name == "alpha" }?.value == ComparisonJudge.spentAlpha(analysis.comparison.alpha, interval: 3))
        // α/(i(i+1)): a twelfth at the third interval, less than the first's half.
        let first = WatchJudge.evaluate(current: current, baseline: baseline, analysis: analysis, index: 1)
        let spent = third[0].evidence.first { $0.name == "alpha" }?.value
        let firstSpent = first[0].evidence.first { $0.name == "alpha" }?.value
        #expect(spent == analysis.comparison.alpha / 12)
        #expect(spent != nil && firstSpent != nil && spent! < firstSpent!)
    }

    @Test func thresholdsJudgeTheNewPrimaryAlone() {
        var a = analysis
        a.metrics = [MetricCheckConfig(name: .requestSuccessRate, min: 99)]
        a.comparison.enabled = false
        let current = ArmWindow(n: 1000, failures: 50, histogram: latencies(1000, from: 10, to: 20))
        let verdicts = WatchJudge.evaluate(current: current, baseline: baseline, analysis: a, index: 1)
        #expect(verdicts.map(\.judge) == ["watch-request-success-rate"])
        #expect(verdicts[0].outcome == .fail)
    }

    @Test func theBaselineRoundTripsThroughTheStateFile() throws {
        let kept = WatchBaseline(baseline)
        #expect(kept.buckets.count < 100, "only the non-empty buckets are written")
        let read = try JSONDecoder().decode(WatchBaseline.self, from: JSONEncoder().encode(kept))
        #expect(read.window == baseline)
        var foreign = kept
        foreign.buckets.append([UInt64(LatencyBuckets.bucketCount), 1])
        #expect(foreign.window == nil, "a bucket this build does not have")
    }

    @Test func withoutABaselineThereIsNoData() {
        let current = ArmWindow(n: 2000, failures: 200, histogram: latencies(2000, from: 10, to: 20))
        let verdicts = WatchJudge.evaluate(current: current, baseline: nil, analysis: analysis, index: 1)
        #expect(verdicts.map(\.outcome) == [.noData])
        #expect(verdicts[0].summary.contains("no pre-promotion baseline"))
    }
}
