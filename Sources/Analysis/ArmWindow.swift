// One arm's measurements over one window (an interval delta): responses, bad outcomes by class, latency histogram.

import Telemetry

/// What the judges read of one arm over one window: an `ArmSnapshot` interval delta reduced to the
/// counts the statistics need.
///
/// Definitions (docs/JUDGES.md; the controller relies on them):
/// - `n`, the responses: `ArmSnapshot.responses`, every response whatever its status (the
///   histogram records the same responses; client aborts are counted apart, in `aborts`).
/// - `failures`: responses with a 5xx status, plus gRPC responses whose grpc-status is a server
///   failure, `ArmSnapshot.failedResponses`. The proxy records its own 502/503/504 for upstream
///   faults (refused, reset, timed out, invalid response) and truncated responses under 5xx, so
///   these are the whole failure count of the arm.
/// - `slow(threshold:)`: responses slower than `T` seconds, `n − histogram.cumulative(atOrBelow: T)`;
///   the cut is at the bucket boundary nearest to `T`, so only latencies within 0.78 % of `T` can
///   be misclassified (`HistogramSnapshot.cumulative`).
public struct ArmWindow: Sendable, Equatable {
    /// Responses in the window.
    public var n: UInt64
    /// Failed responses (5xx or failed gRPC) in the window, at most `n`.
    public var failures: UInt64
    /// Responses with a 4xx status, at most `n − failures`.
    public var clientErrors: UInt64
    /// Requests whose client went away before the response ended (not in `n`).
    public var aborts: UInt64
    /// The latencies of the window's responses.
    public var histogram: HistogramSnapshot

    public init(n: UInt64, failures: UInt64, clientErrors: UInt64 = 0, aborts: UInt64 = 0, histogram: HistogramSnapshot = HistogramSnapshot()) {
        self.n = n
        self.failures = min(failures, n)
        self.clientErrors = min(clientErrors, n - self.failures)
        self.aborts = aborts
        self.histogram = histogram
    }

    /// The window of an interval delta (`ArmSnapshot.delta(since:)`).
    public init(_ s: ArmSnapshot) {
        let clientErrors = s.requestsByStatus.reduce(UInt64(0)) { (400...499).contains($1.key) ? $0 &+ $1.value : $0 }
        self.init(n: s.responses, failures: s.failedResponses, clientErrors: clientErrors,
                  aborts: s.failureCount(.downstreamAbort), histogram: s.histogram)
    }

    /// The window's counts by outcome class, with "slow" cut at `slowThreshold` seconds (none when nil).
    public func outcomes(slowThreshold: Double?) -> OutcomeCounts {
        OutcomeCounts(responses: n, aborts: aborts, serverErrors: failures, clientErrors: clientErrors,
                      slow: slowThreshold.map { slow(threshold: $0) } ?? 0)
    }

    /// Responses that did not fail.
    public var successes: UInt64 { n - failures }

    /// The failure proportion x/n; nil when the window is empty.
    public var failureRate: Double? { n == 0 ? nil : Double(failures) / Double(n) }

    /// Responses slower than `seconds` (the "slow" outcome class; docs/JUDGES.md, section 2).
    /// Saturates at 0 should the histogram hold more values than `n` (two counters read a few
    /// nanoseconds apart).
    public func slow(threshold seconds: Double) -> UInt64 {
        let fast = histogram.cumulative(atOrBelow: seconds)
        return n - min(n, fast)
    }
}
