// Histogram snapshots against a sorted reference: quantiles, merge, delta, cumulative counts.
import Testing
import Telemetry

@Suite struct HistogramTests {
    /// Records through a real shard, as the data path does.
    static func record(_ values: [UInt64]) -> HistogramSnapshot {
        let shard = ArmShard()
        for value in values {
            shard.requestStarted()
            shard.recordResponse(status: 200, latencyNanoseconds: value, bytesFromClient: 0, bytesToClient: 0)
        }
        return shard.snapshot().histogram
    }

    static func values(_ distribution: Distribution, seed: UInt64, count: Int) -> [UInt64] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in distribution.sample(&rng) }
    }

    /// Every quantile is within the documented 2⁻⁷ of the reference sample quantile.
    @Test(arguments: Distribution.allCases, [1, 2, 3] as [UInt64])
    func quantilesMatchSortedReference(distribution: Distribution, seed: UInt64) throws {
        for count in [1, 7, 100, 4_000] {
            let values = Self.values(distribution, seed: seed, count: count)
            let histogram = Self.record(values)
            let sorted = values.sorted()
            #expect(histogram.count == UInt64(count))
            #expect(histogram.sumNanoseconds == values.reduce(0, +))
            for q in [0.0, 0.5, 0.9, 0.99, 0.999, 1.0] {
                let estimate = try #require(histogram.quantile(q))
                let truth = Double(referenceQuantile(sorted, q)) / 1e9
                let error = abs(estimate - truth) / truth
                #expect(error <= 1.0 / 128 + 1e-12, "\(distribution) n=\(count) q=\(q): \(estimate) vs \(truth)")
            }
        }
    }

    @Test func emptyHasNoQuantile() {
        #expect(HistogramSnapshot().quantile(0.5) == nil)
        #expect(HistogramSnapshot().count == 0)
    }

    @Test func extremes() throws {
        let histogram = Self.record([0, 1_000, 60_000_000_000, UInt64.max / 4])
        #expect(histogram.counts[0] == 2)
        #expect(histogram.counts[LatencyBuckets.overflowIndex - 1] == 1)
        #expect(histogram.counts[LatencyBuckets.overflowIndex] == 1)
        #expect(try #require(histogram.quantile(0)) == 0.000_001)
        #expect(try #require(histogram.quantile(0.5)) == 0.000_001)
        // 60 s is reported within its bucket's half-width.
        #expect(abs(try #require(histogram.quantile(0.75)) - 60) / 60 <= 1.0 / 128)
        // The overflow bucket reports its lower bound.
        #expect(try #require(histogram.quantile(1)) == 60.129_542_144)
        #expect(histogram.cumulative(atOrBelow: 60) == 3)
        #expect(histogram.cumulative(atOrBelow: .infinity) == 4)
        #expect(histogram.cumulative(atOrBelow: 0) == 0)
        #expect(histogram.cumulative(atOrBelow: -1) == 0)
    }

    @Test(arguments: [11, 12, 13] as [UInt64])
    func mergeEqualsRecordingEverythingInOne(seed: UInt64) {
        let a = Self.values(.logUniform, seed: seed, count: 1_500)
        let b = Self.values(.bimodal, seed: seed &+ 100, count: 2_500)
        #expect(Self.record(a).merged(with: Self.record(b)) == Self.record(a + b))
        #expect(Self.record(a).merged(with: HistogramSnapshot()) == Self.record(a))
    }

    @Test func recordMatchesShard() {
        let values = Self.values(.uniform, seed: 5, count: 1_000)
        var built = HistogramSnapshot()
        for value in values { built.record(nanoseconds: value) }
        #expect(built == Self.record(values))
    }

    @Test(arguments: [21, 22, 23] as [UInt64])
    func deltaIsWhatWasRecordedInBetween(seed: UInt64) {
        let first = Self.values(.uniform, seed: seed, count: 2_000)
        let second = Self.values(.bimodal, seed: seed &+ 1, count: 1_000)
        let shard = ArmShard()
        for value in first { shard.recordResponse(status: 200, latencyNanoseconds: value, bytesFromClient: 0, bytesToClient: 0) }
        let before = shard.snapshot().histogram
        for value in second { shard.recordResponse(status: 200, latencyNanoseconds: value, bytesFromClient: 0, bytesToClient: 0) }
        let after = shard.snapshot().histogram
        #expect(after.delta(since: before) == Self.record(second))
        #expect(after.delta(since: after) == HistogramSnapshot())
        // Swapped snapshots give zeros, not wrapped-around counts.
        #expect(before.delta(since: after).count == 0)
    }

    /// cumulative(atOrBelow:) differs from the exact count only by values within half a bucket of the cut.
    @Test(arguments: Distribution.allCases)
    func cumulativeMatchesReference(distribution: Distribution) {
        let values = Self.values(distribution, seed: 31, count: 3_000)
        let histogram = Self.record(values)
        for seconds in [0.000_5, 0.001, 0.002_5, 0.01, 0.1, 0.3, 1, 2.5, 10, 59.9] {
            let cut = seconds * 1e9
            let certainlyBelow = values.filter { Double($0) <= cut * (1 - 1.0 / 128) }.count
            let possiblyBelow = values.filter { Double($0) <= cut * (1 + 1.0 / 128) }.count
            let counted = Int(histogram.cumulative(atOrBelow: seconds))
            #expect(counted >= certainlyBelow && counted <= possiblyBelow, "\(distribution) at \(seconds) s")
        }
    }

    @Test func rankIsNearestRank() {
        #expect(HistogramSnapshot.rank(0, count: 10) == 1)
        #expect(HistogramSnapshot.rank(0.5, count: 10) == 5)
        #expect(HistogramSnapshot.rank(0.51, count: 10) == 6)
        #expect(HistogramSnapshot.rank(1, count: 10) == 10)
        #expect(HistogramSnapshot.rank(2, count: 10) == 10)
    }
}
