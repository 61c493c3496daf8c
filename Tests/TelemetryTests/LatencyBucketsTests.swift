// The bucket scheme: its constants, its boundaries, and the documented 1.5625 % width bound.
import Testing
import Telemetry

@Suite struct LatencyBucketsTests {
    typealias B = LatencyBuckets

    @Test func documentedConstants() {
        #expect(B.bucketCount == 1652)
        #expect(B.overflowIndex == 1651)
        #expect(B.lowerBound(0) == 0)
        #expect(B.upperBound(0) == 1_008)
        #expect(B.lowerBound(1) == 1_008)
        #expect(B.lowerBound(B.overflowIndex - 1) == 59_592_671_232)
        #expect(B.upperBound(B.overflowIndex - 1) == 60_129_542_144)
        #expect(B.lowerBound(B.overflowIndex) == 60_129_542_144)
        #expect(B.upperBound(B.overflowIndex) == UInt64.max)
    }

    @Test func edgeValues() {
        #expect(B.index(for: 0) == 0)
        #expect(B.index(for: 1) == 0)
        #expect(B.index(for: 999) == 0)
        #expect(B.index(for: 1_000) == 0)
        #expect(B.index(for: 1_007) == 0)
        #expect(B.index(for: 1_008) == 1)
        #expect(B.index(for: 60_000_000_000) == B.overflowIndex - 1)
        #expect(B.index(for: 60_129_542_143) == B.overflowIndex - 1)
        #expect(B.index(for: 60_129_542_144) == B.overflowIndex)
        #expect(B.index(for: UInt64.max) == B.overflowIndex)
        #expect(B.index(for: UInt64.max / 2 + 1) == B.overflowIndex)
    }

    /// Buckets tile 0 ..< UInt64.max without gap or overlap, and every value maps into its bucket.
    @Test func bucketsTileTheRange() {
        for index in 0..<B.bucketCount {
            let lower = B.lowerBound(index), upper = B.upperBound(index)
            #expect(lower < upper)
            if index + 1 < B.bucketCount { #expect(upper == B.lowerBound(index + 1)) }
            #expect(B.index(for: lower) == index)
            #expect(B.index(for: upper - 1) == index)
        }
    }

    /// The documented bound: from 1 µs to 60 s a bucket is at most 1/64 of its lower bound wide.
    @Test func relativeWidthBound() {
        var widest = 0.0
        for index in 1..<B.overflowIndex {
            let lower = B.lowerBound(index), upper = B.upperBound(index)
            widest = max(widest, Double(upper - lower) / Double(lower))
        }
        // Bucket 0 holds [1000, 1008) of the range.
        widest = max(widest, 8.0 / 1_000)
        #expect(widest <= 1.0 / 64)
        #expect(widest > 0.03 / 2)  // the bound is tight: 1.5625 % at the start of each power of two
    }

    @Test func indexIsMonotonic() {
        var rng = SplitMix64(seed: 7)
        let values = (0..<20_000).map { _ in UInt64.random(in: 0...120_000_000_000, using: &rng) }.sorted()
        #expect(zip(values, values.dropFirst()).allSatisfy { B.index(for: $0) <= B.index(for: $1) })
    }
}
