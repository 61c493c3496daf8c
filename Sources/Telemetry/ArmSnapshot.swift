// What one arm of one route counted, as a value: totals at a moment, or the difference of two.

/// The counters of one (route, arm), summed over the event loops at one moment.
///
/// Maps hold only non-zero entries, so two snapshots with the same counts are equal however they
/// were obtained.
public struct ArmSnapshot: Sendable, Equatable {
    /// Responses by the status sent to the client, 100...599.
    public var requestsByStatus: [Int: UInt64]
    /// Responses with a status outside 100...599.
    public var otherStatusRequests: UInt64
    /// Failures by source, `downstreamAbort` included.
    public var failures: [FailureKind: UInt64]
    /// Request bytes received from clients, of the requests answered (`recordResponse` counts them).
    public var bytesFromClient: UInt64
    /// Response bytes sent to clients, of the requests answered.
    public var bytesToClient: UInt64
    /// Requests started and not yet answered or aborted (a gauge: deltas keep the current value).
    public var inFlight: Int64
    /// The latencies of the responses (aborts excluded).
    public var histogram: HistogramSnapshot
    /// Requests of a managed route marked slow while still in flight (older than the slow threshold T
    /// at a loop's 100 ms sweep), each once.
    public var slowInFlight: UInt64
    /// Marked requests that then ended with a response: those are in the histogram (and slow there) too.
    public var slowMarkedAnswered: UInt64
    /// Responses without a 5xx whose request had a failed attempt that a retry hid from the client.
    public var retriedFailures: UInt64
    /// Attempts sent again after a failure.
    public var retries: UInt64
    /// Ejections of the arm's endpoints (each loop ejects on its own).
    public var ejections: UInt64
    /// Tunnels open now (Upgrade, extended CONNECT; a gauge: deltas keep the current value).
    public var tunnelsActive: Int64
    /// Tunnels ended, and the sum of their lives from the 101 to the end.
    public var tunnelsEnded: UInt64
    public var tunnelDurationNanoseconds: UInt64
    /// Mirrored requests and their mismatches (a canary's; see MirrorCounts.swift).
    public var mirror: MirrorCounts

    public init(
        requestsByStatus: [Int: UInt64] = [:], otherStatusRequests: UInt64 = 0, failures: [FailureKind: UInt64] = [:],
        bytesFromClient: UInt64 = 0, bytesToClient: UInt64 = 0, inFlight: Int64 = 0,
        histogram: HistogramSnapshot = HistogramSnapshot(), slowInFlight: UInt64 = 0, slowMarkedAnswered: UInt64 = 0,
        retriedFailures: UInt64 = 0, retries: UInt64 = 0, ejections: UInt64 = 0,
        tunnelsActive: Int64 = 0, tunnelsEnded: UInt64 = 0, tunnelDurationNanoseconds: UInt64 = 0, mirror: MirrorCounts = MirrorCounts()
    ) {
        self.requestsByStatus = requestsByStatus.filter { $0.value != 0 }
        self.otherStatusRequests = otherStatusRequests
        self.failures = failures.filter { $0.value != 0 }
        self.bytesFromClient = bytesFromClient
        self.bytesToClient = bytesToClient
        self.inFlight = inFlight
        self.histogram = histogram
        self.slowInFlight = slowInFlight
        self.slowMarkedAnswered = slowMarkedAnswered
        self.retriedFailures = retriedFailures
        self.retries = retries
        self.ejections = ejections
        self.tunnelsActive = tunnelsActive
        self.tunnelsEnded = tunnelsEnded
        self.tunnelDurationNanoseconds = tunnelDurationNanoseconds
        self.mirror = mirror
    }

    /// All responses, whatever their status.
    public var responses: UInt64 { requestsByStatus.values.reduce(otherStatusRequests, &+) }

    /// Responses with a 5xx status (proxy-made 502/503/504 included).
    public var serverErrors: UInt64 {
        requestsByStatus.reduce(0) { (500...599).contains($1.key) ? $0 &+ $1.value : $0 }
    }

    /// Responses that failed: 5xx, plus gRPC responses whose grpc-status is a server failure (those
    /// carry HTTP 200, so they are counted apart as `grpcError`), plus responses whose request had a
    /// failed attempt that a retry hid (`retriedFailures`). What the judges count as failures.
    public var failedResponses: UInt64 { serverErrors &+ failureCount(.grpcError) &+ retriedFailures }

    /// The count of one failure source (0 when none).
    public func failureCount(_ kind: FailureKind) -> UInt64 { failures[kind] ?? 0 }

    /// The responses with `status`, or `otherStatusRequests` for a status outside 100...599.
    public func requests(status: Int) -> UInt64 {
        (100...599).contains(status) ? requestsByStatus[status] ?? 0 : otherStatusRequests
    }

    /// What happened after `earlier` (an earlier snapshot of the same series) was taken; `inFlight`
    /// stays the current value. Counters never go down, so a smaller current value (snapshots swapped)
    /// gives 0 rather than a wrapped-around number.
    public func delta(since earlier: ArmSnapshot) -> ArmSnapshot {
        ArmSnapshot(
            requestsByStatus: requestsByStatus.reduce(into: [:]) { result, entry in
                result[entry.key] = Self.difference(entry.value, earlier.requestsByStatus[entry.key] ?? 0)
            },
            otherStatusRequests: Self.difference(otherStatusRequests, earlier.otherStatusRequests),
            failures: failures.reduce(into: [:]) { result, entry in
                result[entry.key] = Self.difference(entry.value, earlier.failures[entry.key] ?? 0)
            },
            bytesFromClient: Self.difference(bytesFromClient, earlier.bytesFromClient),
            bytesToClient: Self.difference(bytesToClient, earlier.bytesToClient),
            inFlight: inFlight,
            histogram: histogram.delta(since: earlier.histogram),
            slowInFlight: Self.difference(slowInFlight, earlier.slowInFlight),
            slowMarkedAnswered: Self.difference(slowMarkedAnswered, earlier.slowMarkedAnswered),
            retriedFailures: Self.difference(retriedFailures, earlier.retriedFailures),
            retries: Self.difference(retries, earlier.retries),
            ejections: Self.difference(ejections, earlier.ejections),
            tunnelsActive: tunnelsActive,
            tunnelsEnded: Self.difference(tunnelsEnded, earlier.tunnelsEnded),
            tunnelDurationNanoseconds: Self.difference(tunnelDurationNanoseconds, earlier.tunnelDurationNanoseconds),
            mirror: mirror.delta(since: earlier.mirror)
        )
    }

    static func difference(_ later: UInt64, _ earlier: UInt64) -> UInt64 { later - min(later, earlier) }
}
