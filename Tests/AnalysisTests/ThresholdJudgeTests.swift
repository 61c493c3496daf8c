// Judge 1: pass, fail and no-data cases with their exact evidence.

import Testing
import Config
import Telemetry
@testable import Analysis

@Suite struct ThresholdJudgeTests {
    let successRate = MetricCheckConfig(name: .requestSuccessRate, min: 99)
    let duration = MetricCheckConfig(name: .requestDuration, max: 500)

    @Test func successRateBelowMinFails() {
        let verdicts = ThresholdJudge.evaluate(canary: ArmWindow(n: 412, failures: 12), checks: [successRate], minRequests: 10)
        #expect(verdicts.count == 1)
        let v = verdicts[0]
        #expect(v.judge == "request-success-rate")
        #expect(v.outcome == .fail)
        #expect(v.summary == "success rate 97.1% < 99% (n=412)")
        #expect(
            v.evidence == [
                .init("success-rate", 100 * 400.0 / 412), .init("requests", 412), .init("failures", 12), .init("min", 99),
            ])
    }

    @Test func successRateAtOrAboveMinPasses() {
        let atBound = ThresholdJudge.evaluate(canary: ArmWindow(n: 100, failures: 1), checks: [successRate], minRequests: 10)[0]
        #expect(atBound.outcome == .pass)
        #expect(atBound.summary == "success rate 99.0% ≥ 99% (n=100)")
        let clean = ThresholdJudge.evaluate(canary: ArmWindow(n: 1000, failures: 0), checks: [successRate], minRequests: 10)[0]
        #expect(clean.outcome == .pass)
        #expect(clean.evidence.first == .init("success-rate", 100))
    }

    @Test func fewerThanMinRequestsIsNoDataForEveryCheck() {
        let verdicts = ThresholdJudge.evaluate(
            canary: ArmWindow(n: 9, failures: 9), checks: [successRate, duration], minRequests: 10)
        #expect(verdicts.map(\.outcome) == [.noData, .noData])
        #expect(verdicts[0].summary == "success rate: no data, 9 canary requests < 10 required")
        #expect(verdicts[0].evidence == [.init("requests", 9), .init("min-requests", 10), .init("min", 99)])
        #expect(verdicts[1].evidence == [.init("requests", 9), .init("min-requests", 10), .init("max", 500)])
        // minRequests 0 still needs one response.
        #expect(ThresholdJudge.evaluate(canary: ArmWindow(n: 0, failures: 0), checks: [successRate], minRequests: 0)[0].outcome == .noData)
    }

    @Test func durationQuantileFromTheHistogram() {
        var h = HistogramSnapshot()
        h.record(nanoseconds: 10_000_000, times: 98)  // 10 ms
        h.record(nanoseconds: 600_000_000, times: 2)  // 600 ms: ranks 99 and 100
        let v = ThresholdJudge.evaluate(canary: ArmWindow(n: 100, failures: 0, histogram: h), checks: [duration], minRequests: 10)[0]
        let p99 = h.quantile(0.99)! * 1000
        #expect(abs(p99 - 600) / 600 <= 0.0078125)  // the bucket midpoint, within 2⁻⁷
        #expect(v.judge == "request-duration")
        #expect(v.outcome == .fail)
        #expect(v.summary == "p99 duration \(Format.short(p99)) ms > 500 ms (n=100)")
        #expect(v.evidence == [.init("duration-ms", p99), .init("quantile", 0.99), .init("requests", 100), .init("max", 500)])

        var p50 = MetricCheckConfig(name: .requestDuration, max: 500)
        p50.quantile = 0.5
        let median = ThresholdJudge.evaluate(canary: ArmWindow(n: 100, failures: 0, histogram: h), checks: [p50], minRequests: 10)[0]
        #expect(median.outcome == .pass)
        #expect(median.summary.hasPrefix("p50 duration 10."))
        #expect(median.evidence[0].value == h.quantile(0.5)! * 1000)
    }

    @Test func durationWithAnEmptyHistogramIsNoData() {
        let v = ThresholdJudge.evaluate(canary: ArmWindow(n: 50, failures: 0), checks: [duration], minRequests: 10)[0]
        #expect(v.outcome == .noData)
    }
}
