// The watch's baseline as the state file keeps it: an arm's window with its histogram's non-empty buckets only.
import Telemetry

/// An `ArmWindow` in a form the state file can hold, so a watch that outlives a restart still has its
/// baseline. The histogram is written sparsely (`[bucket, count]` pairs): a few dozen of its buckets are used.
public struct WatchBaseline: Sendable, Equatable, Codable {
    public var n: UInt64
    public var failures: UInt64
    public var clientErrors: UInt64
    public var aborts: UInt64
    public var sumNanoseconds: UInt64
    /// `[bucket index, count]` for every non-empty bucket of the latency histogram.
    public var buckets: [[UInt64]]

    public init(_ window: ArmWindow) {
        n = window.n
        failures = window.failures
        clientErrors = window.clientErrors
        aborts = window.aborts
        sumNanoseconds = window.histogram.sumNanoseconds
        buckets = window.histogram.counts.indices.compactMap { i in
            window.histogram.counts[i] == 0 ? nil : [UInt64(i), window.histogram.counts[i]]
        }
    }

    /// The window again; nil if a bucket is not one of this version's (a file written by another build).
    public var window: ArmWindow? {
        var counts = [UInt64](repeating: 0, count: LatencyBuckets.bucketCount)
        for pair in buckets {
            guard pair.count == 2, pair[0] < UInt64(counts.count) else { return nil }
            counts[Int(pair[0])] = pair[1]
        }
        return ArmWindow(
            n: n, failures: failures, clientErrors: clientErrors, aborts: aborts,
            histogram: HistogramSnapshot(counts: counts, sumNanoseconds: sumNanoseconds))
    }
}
