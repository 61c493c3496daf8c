// The definitions the controller relies on: responses, failures (5xx and failing gRPC), slow requests from an ArmSnapshot.

import Testing
import Telemetry
@testable import Analysis

@Suite struct ArmWindowTests {
    /// A request whose failed attempt a retry hid from its client is a failed response for the judges:
    /// its 200 is the client's, the failure is the arm's.
    @Test func aFailureHiddenByARetryIsAFailedResponse() {
        var h = HistogramSnapshot()
        h.record(nanoseconds: 5_000_000, times: 20)
        let snapshot = ArmSnapshot(
            requestsByStatus: [200: 18, 502: 2], failures: [.upstreamReset: 12, .connectRefused: 2],
            histogram: h, retriedFailures: 10, retries: 10)
        let window = ArmWindow(snapshot)
        #expect(window.n == 20)
        #expect(window.failures == 12)
        #expect(window.outcomes(slowThreshold: nil).serverErrors == 12)
    }

    @Test func countsFromAnArmSnapshot() {
        var h = HistogramSnapshot()
        h.record(nanoseconds: 5_000_000, times: 95)  // 5 ms
        h.record(nanoseconds: 800_000_000, times: 10)  // 800 ms
        let snapshot = ArmSnapshot(
            requestsByStatus: [200: 90, 404: 5, 500: 3, 503: 7], failures: [.responseTimeout: 7], histogram: h)
        let window = ArmWindow(snapshot)
        #expect(window.n == 105)
        #expect(window.failures == 10)
        #expect(window.successes == 95)
        #expect(window.failureRate == 10.0 / 105)
        #expect(window.slow(threshold: 0.1) == 10)
        #expect(window.slow(threshold: 1) == 0)
        #expect(window.slow(threshold: 0.001) == 105)
    }

    /// gRPC answers with HTTP 200 and a failing grpc-status are failures of the arm, like 5xx.
    @Test func failedGRPCResponsesCountAsFailures() {
        let snapshot = ArmSnapshot(requestsByStatus: [200: 40, 503: 2], failures: [.grpcError: 6, .connectRefused: 2])
        let window = ArmWindow(snapshot)
        #expect(window.n == 42)
        #expect(window.failures == 8, "2 × 503 + 6 failing grpc-status (the refused connects are the 503s, not extra)")
    }

    @Test func intervalDeltasAndSaturation() {
        let earlier = ArmSnapshot(requestsByStatus: [200: 10, 502: 1])
        let later = ArmSnapshot(requestsByStatus: [200: 30, 502: 4])
        let window = ArmWindow(later.delta(since: earlier))
        #expect(window.n == 23 && window.failures == 3)
        // More histogram values than responses (read a moment apart): slow saturates at 0... and n caps it.
        var h = HistogramSnapshot()
        h.record(nanoseconds: 1_000_000, times: 12)
        #expect(ArmWindow(n: 10, failures: 20, histogram: h).failures == 10)
        #expect(ArmWindow(n: 10, failures: 0, histogram: h).slow(threshold: 0.0001) == 10)
        #expect(ArmWindow(n: 10, failures: 0, histogram: h).slow(threshold: 0.1) == 0)
    }

    @Test func slowThresholdRules() {
        var primary = HistogramSnapshot()
        primary.record(nanoseconds: 10_000_000, times: 99)
        primary.record(nanoseconds: 200_000_000, times: 1)
        let p99 = SlowThreshold.seconds(.primaryP99, previousPrimary: primary)
        #expect(p99 == primary.quantile(0.99))
        #expect(SlowThreshold.seconds(.primaryP99, previousPrimary: HistogramSnapshot()) == nil)
        #expect(SlowThreshold.seconds(.fixed(.milliseconds(250)), previousPrimary: primary) == 0.25)
    }
}
