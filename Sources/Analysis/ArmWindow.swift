// One arm's measurements over one window (an interval delta): responses, bad outcomes by class, latency histogram.

import Telemetry

/// What the judges read of one arm over one window: an `ArmSnapshot` interval delta reduced to the
/// counts the statistics need.
///
/// Definitions (docs/JUDGES.md; the controller relies on them):
/// - `n`, the responses: `ArmSnapshot.responses`, every response whatever its status (the
///   histogram records the same responses; client aborts are counted apart, in `aborts`).
/// - `failures`: responses with a 5xx status, plus gRPC responses whose grpc-status is a server
///   failure, plus responses whose failed attempt a retry hid, `ArmSnapshot.failedResponses`. The proxy records its own 502/503/504 for upstream
///   faults (refused, reset, timed out, invalid response) and truncated responses under 5xx, so
///   these are the whole failure count of the arm.
/// - `slow(threshold:)`: responses slower than `T` seconds, `n − histogram.cumulative(atOrBelow: T)`;
///   the cut is at the bucket boundary nearest to `T`, so only latencies within 0.78 % of `T` can
///   be misclassified (`HistogramSnapshot.cumulative`).
/// - `slowInFlight`, `slowMarkedAnswered`: requests the loops found still in flight past T (counted slow
///   at that moment, before they end), and those of them that then got a response (which the histogram
///   counts slow again). `outcomes(slowThreshold:)` counts each slow request once from the two.
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
    /// Requests marked slow while still in flight (older than T at a loop's sweep) in the window.
    public var slowInFlight: UInt64
    /// Requests marked earlier (in this window or before) that ended with a response in the window.
    public var slowMarkedAnswered: UInt64
    /// The arm's mirrored requests and their mismatches in the window (a canary's, with `mirror`).
    public var mirror: MirrorCounts

    public init(
        n: UInt64, failures: UInt64, clientErrors: UInt64 = 0, aborts: UInt64 = 0, histogram: HistogramSnapshot = HistogramSnapshot(),
        slowInFlight: UInt64 = 0, slowMarkedAnswered: UInt64 = 0, mirror: MirrorCounts = MirrorCounts()
    ) {
        self.n = n
        self.failures = min(failures, n)
        self.clientErrors = min(clientErrors, n - self.failures)
        self.aborts = aborts
        self.histogram = histogram
        self.slowInFlight = slowInFlight
        self.slowMarkedAnswered = slowMarkedAnswered
        self.mirror = mirror
    }

    /// The window of an interval delta (`ArmSnapshot.delta(since:)`).
    public init(_ s: ArmSnapshot) {
        let clientErrors = s.requestsByStatus.reduce(UInt64(0)) { (400...499).contains($1.key) ? $0 &+ $1.value : $0 }
        self.init(
            n: s.responses, failures: s.failedResponses, clientErrors: clientErrors,
            aborts: s.failureCount(.downstreamAbort), histogram: s.histogram,
            slowInFlight: s.slowInFlight, slowMarkedAnswered: s.slowMarkedAnswered, mirror: s.mirror)
    }

    /// The window's counts by outcome class, with "slow" cut at `slowThreshold` seconds (none when nil).
    public func outcomes(slowThreshold: Double?) -> OutcomeCounts {
        var carry = SlowCarry()
        return outcomes(slowThreshold: slowThreshold, carry: &carry)
    }

    /// The window's counts by outcome class, for one of a series of consecutive windows of one arm (the
    /// controller's ticks), `carry` passed from one window to the next.
    ///
    /// A request still in flight past T counts as slow when a loop marks it (`slowInFlight`), and among
    /// the slow class's population from then on, as if answered late then. When a marked request later
    /// gets its response, the histogram counts it slow (its latency exceeds T) and among the responses:
    /// both are taken back (`slowMarkedAnswered`). A marked request that ends as an abort is in neither:
    /// it stays one slow and counts one abort. Summed over the ticks this counts every slow request
    /// exactly once **as long as T did not change between a request's mark and its answer** (a T raised
    /// in between may leave the answer out of the histogram's slow count while it is still taken back:
    /// one slow request too few, never one too many).
    ///
    /// Slow answers are counted from the histogram alone (`histogram.count − fast`, not `n − fast`): a
    /// snapshot read while a response is being recorded may hold its status and not yet its bucket
    /// (`ShardSum.add`), and `n − fast` then counted it slow in one tick without taking it back in the
    /// next (seen end to end: a primary answering in 1 ms had one slow request in ~1 of 5 two-second
    /// runs under load). A snapshot may also hold a take-back a tick before its response's bucket: a
    /// window's take-backs beyond its count are carried to the next window (once: what is left then was
    /// a T raised in between, and is dropped). The population stays `n`-based, as the other classes'.
    public func outcomes(slowThreshold: Double?, carry: inout SlowCarry) -> OutcomeCounts {
        let population = Self.takeBack(n &+ slowInFlight, slowMarkedAnswered, carried: carry.population)
        carry.population = population.carry
        var slowCount: UInt64 = 0
        if let t = slowThreshold {
            let answered = histogram.count
            let fast = histogram.cumulative(atOrBelow: t)
            let slow = Self.takeBack((answered - min(answered, fast)) &+ slowInFlight, slowMarkedAnswered, carried: carry.slow)
            slowCount = slow.count
            carry.slow = slow.carry
        } else {
            carry.slow = 0
        }
        return OutcomeCounts(
            responses: n, aborts: aborts, serverErrors: failures, clientErrors: clientErrors,
            slow: slowCount, slowPopulation: population.count)
    }

    /// What the previous window of the same arm could not take back (`outcomes(slowThreshold:carry:)`).
    public struct SlowCarry: Sendable, Equatable {
        public var slow: UInt64 = 0
        public var population: UInt64 = 0
        public init() {}
    }

    /// `count − (takeBack + carried)`, saturated at 0; what is left of this window's own take-backs is carried.
    static func takeBack(_ count: UInt64, _ takeBack: UInt64, carried: UInt64) -> (count: UInt64, carry: UInt64) {
        let due = takeBack &+ carried
        guard due > count else { return (count - due, 0) }
        return (0, min(due - count, takeBack))
    }

    /// Responses that did not fail.
    public var successes: UInt64 { n - failures }

    /// The failure proportion x/n; nil when the window is empty.
    public var failureRate: Double? { n == 0 ? nil : Double(failures) / Double(n) }

    /// Responses slower than `seconds` (the "slow" outcome class; docs/JUDGES.md, section 2). The judges'
    /// per-tick count (`outcomes`) reads the histogram alone instead: see there why.
    /// Saturates at 0 should the histogram hold more values than `n` (two counters read a few
    /// nanoseconds apart).
    public func slow(threshold seconds: Double) -> UInt64 {
        let fast = histogram.cumulative(atOrBelow: seconds)
        return n - min(n, fast)
    }
}
