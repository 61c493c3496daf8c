// The Hodges-Lehmann shift and its lower bound: a known shift, none, tiny samples, all differences by brute force, coverage.

import Testing
import Telemetry
@testable import Analysis
import Simulation

@Suite struct ShiftEstimateTests {
    /// n latencies evenly spread over [low, high) ms (the uniform distribution's quantiles), each `plus` ms later.
    static func uniform(_ n: Int, from low: Double, to high: Double, plus: Double = 0) -> HistogramSnapshot {
        var h = HistogramSnapshot()
        for i in 0..<n { h.record(nanoseconds: UInt64((low + (high - low) * (Double(i) + 0.5) / Double(n) + plus) * 1e6)) }
        return h
    }

    /// Primary uniform over 20–40 ms, canary the same 10 ms later, 4,000 each: the estimate is within
    /// 2 % of 10 ms (the buckets' 0.78 % resolution is the only error), the 95 % lower bound below it and above 0.
    @Test func aKnownShiftIsEstimated() {
        let primary = Self.uniform(4_000, from: 20, to: 40)
        let canary = Self.uniform(4_000, from: 20, to: 40, plus: 10)
        let shift = ShiftEstimate(canary: canary, primary: primary, alpha: 0.05)
        #expect(abs(shift.estimate - 0.010) <= 0.02 * 0.010, "estimate \(shift.estimate)")
        #expect(shift.lowerBound < shift.estimate)
        #expect(shift.lowerBound > 0.009, "lower bound \(shift.lowerBound)")
        // A smaller α (the spent α of a later interval) gives a lower bound.
        let later = ShiftEstimate(canary: canary, primary: primary, alpha: ComparisonJudge.spentAlpha(0.01, interval: 30))
        #expect(later.lowerBound < shift.lowerBound && later.lowerBound > 0)
        // A faster canary: a negative shift.
        let faster = ShiftEstimate(canary: primary, primary: canary, alpha: 0.05)
        #expect(abs(faster.estimate + 0.010) <= 0.02 * 0.010)
        #expect(faster.lowerBound < -0.010)
    }

    @Test func identicalHistogramsHaveALowerBoundAtMostZero() {
        for (nc, np) in [(100, 100), (3_000, 3_000), (500, 20_000)] {
            let shift = ShiftEstimate(canary: Self.uniform(nc, from: 20, to: 40), primary: Self.uniform(np, from: 20, to: 40), alpha: 0.05)
            #expect(shift.lowerBound <= 0, "\(nc)/\(np): \(shift.lowerBound)")
            #expect(abs(shift.estimate) <= 0.0003, "\(nc)/\(np): \(shift.estimate)")
        }
        let same = Self.uniform(1_000, from: 5, to: 500)
        let shift = ShiftEstimate(canary: same, primary: same, alpha: 0.05)
        #expect(shift.estimate == 0 && shift.lowerBound < 0)
    }

    /// With too few values no difference is bounded: k < 0, the bound is −∞ (and 0 and −∞ with none).
    @Test func tinySamplesAreUnbounded() {
        let two = histogram(milliseconds: [10, 11], counts: [1, 1])
        let far = histogram(milliseconds: [100, 110], counts: [1, 1])
        // n_c = n_p = 2: k = ⌊2 − 1.645 · sqrt(4 · 5 / 12)⌋ = −1.
        let shift = ShiftEstimate(canary: far, primary: two, alpha: 0.05)
        #expect(shift.lowerBound == -.infinity)
        #expect(shift.estimate > 0.08)
        #expect(
            ShiftEstimate(canary: histogram(milliseconds: [100], counts: [1]), primary: Self.uniform(5, from: 1, to: 2), alpha: 0.05)
                .lowerBound
                == -.infinity)
        // Three each is enough at α = 0.05 (k = 0: the smallest difference) but not at α = 0.001.
        let three = histogram(milliseconds: [10, 11, 12], counts: [1, 1, 1]),
            farThree = histogram(milliseconds: [100, 110, 120], counts: [1, 1, 1])
        #expect(ShiftEstimate(canary: farThree, primary: three, alpha: 0.05).lowerBound > 0.08)
        #expect(ShiftEstimate(canary: farThree, primary: three, alpha: 0.001).lowerBound == -.infinity)
        let empty = ShiftEstimate(canary: HistogramSnapshot(), primary: three, alpha: 0.05)
        #expect(empty.estimate == 0 && empty.lowerBound == -.infinity)
    }

    /// Against every difference of the buckets' representative values, listed and sorted: the estimate
    /// is the ⌈mn/2⌉-th smallest, the bound the (k+1)-th (Lehmann's k from the normal approximation).
    @Test func matchesTheSortedListOfAllDifferences() {
        var rng = Xoshiro256(seed: 0x5A1F_0001)
        for _ in 0..<20 {
            var canary = HistogramSnapshot(), primary = HistogramSnapshot()
            var c: [Double] = [], p: [Double] = []
            let m = 20 + Int(rng.next() % 60), n = 20 + Int(rng.next() % 90)
            for _ in 0..<m {
                let ns = UInt64(1_000_000 * (5 + 40 * rng.uniform() + 8 * rng.uniform()))
                canary.record(nanoseconds: ns)
                c.append(Double(LatencyBuckets.representative(LatencyBuckets.index(for: ns))) / 1e9)
            }
            for _ in 0..<n {
                let ns = UInt64(1_000_000 * (5 + 40 * rng.uniform()))
                primary.record(nanoseconds: ns)
                p.append(Double(LatencyBuckets.representative(LatencyBuckets.index(for: ns))) / 1e9)
            }
            let differences = c.flatMap { a in p.map { a - $0 } }.sorted()
            let total = Double(m * n)
            let z = Normal.upperCritical(alpha: 0.05)
            let k = Int((total / 2 - z * (total * Double(m + n + 1) / 12).squareRoot()).rounded(.down))
            let shift = ShiftEstimate(canary: canary, primary: primary, alpha: 0.05)
            #expect(shift.estimate == differences[(m * n + 1) / 2 - 1])
            #expect(shift.lowerBound == differences[k])
        }
    }

    /// Coverage: with random samples (primary uniform 20–40 ms, canary 30–50 ms, 300 / 200 values) the
    /// 95 % lower bound exceeds the true 10 ms shift in at most 5 % (+3σ) of 1,000 seeded runs.
    @Test func theLowerBoundCoversTheTrueShift() {
        var rng = Xoshiro256(seed: 0x5A1F_0002)
        let runs = 1_000
        var above = 0
        for _ in 0..<runs {
            var canary = HistogramSnapshot(), primary = HistogramSnapshot()
            for _ in 0..<300 { primary.record(nanoseconds: UInt64(1e6 * (20 + 20 * rng.uniform()))) }
            for _ in 0..<200 { canary.record(nanoseconds: UInt64(1e6 * (30 + 20 * rng.uniform()))) }
            if ShiftEstimate(canary: canary, primary: primary, alpha: 0.05).lowerBound > 0.010 { above += 1 }
        }
        let rate = Double(above) / Double(runs)
        print("measured: shift lower bound above the true shift in \(rate) of \(runs) runs (α = 0.05)")
        #expect(rate <= threeSigmaBound(0.05, runs: runs), "\(rate)")
    }
}
