// A latency histogram as a value: quantiles, merge, interval deltas, cumulative counts.

/// Counts per `LatencyBuckets` bucket, plus the exact sum of the recorded nanoseconds.
public struct HistogramSnapshot: Sendable, Equatable {
    /// One count per bucket, `LatencyBuckets.bucketCount` of them.
    public private(set) var counts: [UInt64]
    /// The exact sum of the recorded latencies (values below 1 µs included as they were, not clamped).
    public private(set) var sumNanoseconds: UInt64
    /// The number of recorded values: always the sum of `counts`.
    public private(set) var count: UInt64

    /// An empty histogram.
    public init() {
        counts = [UInt64](repeating: 0, count: LatencyBuckets.bucketCount)
        sumNanoseconds = 0
        count = 0
    }

    /// A histogram from its buckets (`counts.count` must be `LatencyBuckets.bucketCount`).
    public init(counts: [UInt64], sumNanoseconds: UInt64) {
        precondition(counts.count == LatencyBuckets.bucketCount, "a histogram has LatencyBuckets.bucketCount buckets")
        self.counts = counts
        self.sumNanoseconds = sumNanoseconds
        self.count = counts.reduce(0, &+)
    }

    /// Adds `times` values of `nanoseconds` (for building histograms off the data path, e.g. in tests
    /// and analyses; the data path records through `ArmShard`).
    public mutating func record(nanoseconds: UInt64, times: UInt64 = 1) {
        counts[LatencyBuckets.index(for: nanoseconds)] &+= times
        sumNanoseconds &+= nanoseconds &* times
        count &+= times
    }

    /// The sum in seconds.
    public var sumSeconds: Double { Double(sumNanoseconds) / 1e9 }

    /// The `q`-quantile (0...1) in seconds, `nil` when empty.
    ///
    /// The sample quantile is the nearest-rank one: the `r`-th smallest recorded value with
    /// `r = max(1, ⌈q·count⌉)`. The bucket holding it is found exactly, and its midpoint is returned,
    /// so for a true value from 1 µs to 60 s the result is within half the bucket's relative width,
    /// ≤ 2⁻⁷ = 0.78125 %, of it (see `LatencyBuckets`). Below 1 µs the result is 1 µs; in the overflow
    /// bucket it is 60.129542144 s, a lower bound only.
    public func quantile(_ q: Double) -> Double? {
        guard count > 0 else { return nil }
        let target = Self.rank(q, count: count)
        var seen: UInt64 = 0
        for (index, bucketCount) in counts.enumerated() {
            seen &+= bucketCount
            if seen >= target { return Double(LatencyBuckets.representative(index)) / 1e9 }
        }
        // Unreachable while `count` is the sum of `counts`.
        return Double(LatencyBuckets.representative(LatencyBuckets.overflowIndex)) / 1e9
    }

    /// The nearest rank of quantile `q` among `count` values, 1-based.
    public static func rank(_ q: Double, count: UInt64) -> UInt64 {
        let clamped = min(max(q, 0), 1)
        let exact = (clamped * Double(count)).rounded(.up)
        return min(max(UInt64(exact), 1), count)
    }

    /// Everything recorded in either histogram.
    public func merged(with other: HistogramSnapshot) -> HistogramSnapshot {
        var result = self
        for i in counts.indices { result.counts[i] &+= other.counts[i] }
        result.sumNanoseconds &+= other.sumNanoseconds
        result.count &+= other.count
        return result
    }

    /// What was recorded after `earlier` was taken, `earlier` being an earlier snapshot of the same
    /// series. Counts only grow, so a cell smaller than in `earlier` (snapshots passed in the wrong
    /// order) gives 0 rather than a wrapped-around number.
    public func delta(since earlier: HistogramSnapshot) -> HistogramSnapshot {
        var result = HistogramSnapshot()
        for i in counts.indices { result.counts[i] = counts[i] - min(counts[i], earlier.counts[i]) }
        result.sumNanoseconds = sumNanoseconds - min(sumNanoseconds, earlier.sumNanoseconds)
        result.count = result.counts.reduce(0, &+)
        return result
    }

    /// The number of values at or below `seconds`, at fine-bucket resolution: the bucket holding
    /// `seconds` is counted when `seconds` is in its upper half. In other words the cut is made at the
    /// bucket boundary nearest to `seconds`, so only values within half a bucket (≤ 0.78125 %) of
    /// `seconds` can be on the wrong side. `+infinity` gives `count`.
    public func cumulative(atOrBelow seconds: Double) -> UInt64 {
        counts[0..<Self.bucketsAtOrBelow(seconds)].reduce(0, &+)
    }

    /// How many leading buckets `cumulative(atOrBelow:)` sums for `seconds`.
    static func bucketsAtOrBelow(_ seconds: Double) -> Int {
        guard !seconds.isNaN, seconds >= 0 else { return 0 }
        if seconds == .infinity { return LatencyBuckets.bucketCount }
        let nanoseconds = seconds * 1e9
        // Past the last fine bucket only the open-ended overflow bucket is left; its upper end is +Inf.
        let overflowStart = LatencyBuckets.lowerBound(LatencyBuckets.overflowIndex)
        guard nanoseconds < Double(overflowStart) else { return LatencyBuckets.overflowIndex }
        let index = LatencyBuckets.index(for: UInt64(nanoseconds))
        let lower = Double(LatencyBuckets.lowerBound(index))
        let upper = Double(LatencyBuckets.upperBound(index))
        return nanoseconds - lower >= upper - nanoseconds ? index + 1 : index
    }
}
