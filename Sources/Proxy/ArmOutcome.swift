// How a request's outcome (and its slowness while in flight) is written to its arm's shard: one place for the HTTP/1.1 connection and the HTTP/2 stream.
import Telemetry

extension ArmShard {
    /// Records how a request ended: a response `status` (with the upstream `failure` that caused it,
    /// if any), or with `status` nil the client going away. `slowMarked`: the in-flight sweep already
    /// counted the request slow (`markSlowInFlight`); a response to it is then also counted as taken back,
    /// since the histogram counts it slow again. An abort of it is not in the histogram: nothing to take back.
    /// `retriedFailure`: an attempt of the request failed and a retry hid it; a response that is not a
    /// 5xx is then counted as a failed response for the judges (`ArmSnapshot.failedResponses`).
    @inline(__always)
    func recordOutcome(
        status: Int?, failure: FailureKind?, latencyNanoseconds: UInt64, bytesFromClient: UInt64, bytesToClient: UInt64,
        slowMarked: Bool, retriedFailure: Bool = false
    ) {
        #if CANARYGATE_NO_METRICS
        // A benchmark-only build (-DCANARYGATE_NO_METRICS, benchmarks/RESULTS.md "Cost of measurement"): the same proxy without recording, to price it.
        return
        #endif
        if let failure { recordFailure(failure) }
        if let status {
            // The take-back before the response's bucket: a reader never sees the bucket without it (ShardSum.add).
            if slowMarked { recordSlowMarkedAnswered() }
            if retriedFailure && !(500...599).contains(status) { recordRetriedFailure() }
            recordResponse(
                status: status, latencyNanoseconds: latencyNanoseconds, bytesFromClient: bytesFromClient, bytesToClient: bytesToClient)
        } else {
            recordAbort()
        }
    }
}

extension ArmShard {
    /// The in-flight sweep's mark of a request older than the slow threshold (see `ProxyLoop.sweepSlowInFlight`).
    @inline(__always)
    func markSlowInFlight() {
        #if CANARYGATE_NO_METRICS
        return
        #endif
        recordSlowInFlight()
    }
}

extension ArmShard {
    /// The in-flight sweep's rule for one request (an HTTP/1.1 exchange or an HTTP/2 stream): once it is
    /// older than `threshold` nanoseconds (0: no threshold) it is counted slow, once (`marked`).
    @inline(__always)
    func markIfSlow(startedAt: UInt64, now: UInt64, threshold: UInt64, marked: inout Bool) {
        guard !marked, threshold > 0, now &- startedAt > threshold else { return }
        marked = true
        markSlowInFlight()
    }
}
