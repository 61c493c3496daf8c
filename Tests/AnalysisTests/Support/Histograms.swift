// Histogram builders for the judges' tests: counts at given latencies in milliseconds.

import Telemetry

/// A histogram with `counts[i]` values at `milliseconds[i]` (each latency in its own bucket when
/// they differ by more than 1.6 %).
func histogram(milliseconds: [Double], counts: [UInt64]) -> HistogramSnapshot {
    var h = HistogramSnapshot()
    for (ms, count) in zip(milliseconds, counts) where count > 0 {
        h.record(nanoseconds: UInt64(ms * 1_000_000), times: count)
    }
    return h
}

/// Six well-separated latencies, the values 0...5 of the scipy fixtures.
let sixLatencies: [Double] = [1, 2, 5, 10, 20, 50]

/// Relative closeness for fixture comparisons.
func close(_ a: Double, _ b: Double, relative: Double = 1e-6) -> Bool {
    if a == b { return true }
    return abs(a - b) <= relative * max(abs(a), abs(b))
}
