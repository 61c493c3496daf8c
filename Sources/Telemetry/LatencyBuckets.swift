// The log-linear (HdrHistogram-like) bucket scheme of the latency histograms, over nanoseconds.

/// Maps a latency in nanoseconds to one of `bucketCount` buckets.
///
/// Every power-of-two range `[2^e, 2^(e+1))` is split into 64 equal sub-buckets (6 bits of
/// precision after the leading one), so a bucket `[lower, upper)` has `upper - lower <= lower / 64`.
///
/// **Error bound.** For every value `v` from 1 µs to 60 s, `v` lies in a bucket whose relative width
/// `(upper - lower) / lower` is at most 2⁻⁶ = 1.5625 %; any point of that bucket is therefore within
/// 1.5625 % of `v`, and its midpoint (what `HistogramSnapshot.quantile` returns) within 2⁻⁷ = 0.78125 %.
///
/// - Bucket 0 is `[0, 1008)` ns: every value below 1 µs is counted there together with
///   `[1000, 1008)` (1000 ns is an exact sub-bucket boundary), i.e. as "1 µs".
/// - The last fine bucket is `[59 592 671 232, 60 129 542 144)` ns, the one holding 60 s.
/// - The overflow bucket `bucketCount - 1` holds every value from 60.129542144 s up to `UInt64.max`.
///
/// The index is a clamp, a leading-zero count, two shifts and an add: no loop, no floating point.
public enum LatencyBuckets {
    /// Sub-bucket bits: 2^6 = 64 linear sub-buckets per power of two.
    static let subBucketBits = 6

    /// Values below this are recorded as this (1 µs); it is a sub-bucket boundary.
    public static let floorNanoseconds: UInt64 = 1_000

    /// The unshifted index of a value of at least 2^6 (the leading one's position and the
    /// next 6 bits, concatenated).
    @inline(__always)
    static func rawIndex(_ value: UInt64) -> Int {
        let exponent = 63 - value.leadingZeroBitCount
        let shift = exponent - subBucketBits
        return (shift << subBucketBits) + Int(truncatingIfNeeded: value >> UInt64(truncatingIfNeeded: shift))
    }

    /// The raw index of the first bucket (the one holding 1 µs): 317.
    static let rawBase = 317
    /// The index of the overflow bucket: the raw index of the first value past the 60 s bucket.
    public static let overflowIndex = 1651
    /// Fine buckets `0 ..< overflowIndex`, plus the overflow bucket.
    public static let bucketCount = overflowIndex + 1

    /// The bucket of a latency. Total: 0 and `UInt64.max` are valid inputs.
    @inline(__always)
    public static func index(for nanoseconds: UInt64) -> Int {
        let clamped = max(nanoseconds, floorNanoseconds)
        return min(rawIndex(clamped) - rawBase, overflowIndex)
    }

    /// The smallest value of the bucket (0 for bucket 0, which holds everything below 1 µs).
    public static func lowerBound(_ index: Int) -> UInt64 {
        precondition(index >= 0 && index < bucketCount, "bucket index out of range")
        return index == 0 ? 0 : rawLowerBound(index + rawBase)
    }

    /// One past the largest value of the bucket; `UInt64.max` for the overflow bucket, whose
    /// range is open-ended.
    public static func upperBound(_ index: Int) -> UInt64 {
        precondition(index >= 0 && index < bucketCount, "bucket index out of range")
        return index == overflowIndex ? UInt64.max : rawLowerBound(index + rawBase + 1)
    }

    /// The inverse of `rawIndex`: raw index `(shift << 6) + m`, with `m` in `64 ..< 128`, starts at `m << shift`.
    static func rawLowerBound(_ raw: Int) -> UInt64 {
        let shift = (raw >> subBucketBits) - 1
        let mantissa = UInt64(raw - (shift << subBucketBits))
        return mantissa << UInt64(shift)
    }

    /// The value reported for a bucket by quantiles: its midpoint; 1 µs for bucket 0 (values below
    /// 1 µs are reported as 1 µs); the overflow bucket's lower bound (a quantile there is only
    /// known to be at least that).
    public static func representative(_ index: Int) -> UInt64 {
        if index == 0 { return floorNanoseconds }
        let lower = lowerBound(index)
        if index == overflowIndex { return lower }
        return lower + (upperBound(index) - lower) / 2
    }
}
