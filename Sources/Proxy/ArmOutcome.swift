// How a request's outcome is written to its arm's shard: one place for the HTTP/1.1 connection and the HTTP/2 stream.
import Telemetry

extension ArmShard {
    /// Records how a request ended: a response `status` (with the upstream `failure` that caused it,
    /// if any), or with `status` nil the client going away.
    @inline(__always)
    func recordOutcome(status: Int?, failure: FailureKind?, latencyNanoseconds: UInt64, bytesFromClient: UInt64, bytesToClient: UInt64) {
        #if CANARYGATE_NO_METRICS
        // A build for benchmarks/metrics-cost.sh only: the same proxy without recording, to price the recording.
        return
        #endif
        if let failure { recordFailure(failure) }
        if let status {
            recordResponse(status: status, latencyNanoseconds: latencyNanoseconds, bytesFromClient: bytesFromClient, bytesToClient: bytesToClient)
        } else {
            recordAbort()
        }
    }
}
