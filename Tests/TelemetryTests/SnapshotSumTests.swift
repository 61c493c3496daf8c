// Snapshots summed across replicas and held at their high-water mark: exact, commuting with deltas.
import Testing
import Telemetry

@Suite struct SnapshotSumTests {
    /// A random arm whose counters are each at least `floor`'s (the next snapshot of the same series).
    static func grown(from floor: ArmSnapshot, _ rng: inout SplitMix64) -> ArmSnapshot {
        var arm = floor
        for status in [200, 201, 404, 503].filter({ _ in Bool.random(using: &rng) }) {
            arm.requestsByStatus[status, default: 0] += UInt64.random(in: 1...1_000, using: &rng)
        }
        for kind in FailureKind.allCases.filter({ _ in Bool.random(using: &rng) }) {
            arm.failures[kind, default: 0] += UInt64.random(in: 1...50, using: &rng)
        }
        arm.otherStatusRequests += UInt64.random(in: 0...3, using: &rng)
        arm.bytesFromClient += UInt64.random(in: 0...1 << 30, using: &rng)
        arm.bytesToClient += UInt64.random(in: 0...1 << 30, using: &rng)
        arm.inFlight = Int64.random(in: -2...40, using: &rng)
        for _ in 0..<Int.random(in: 0...200, using: &rng) {
            arm.histogram.record(nanoseconds: UInt64.random(in: 0...70_000_000_000, using: &rng))
        }
        arm.slowInFlight += UInt64.random(in: 0...5, using: &rng)
        arm.slowMarkedAnswered += UInt64.random(in: 0...5, using: &rng)
        arm.retriedFailures += UInt64.random(in: 0...5, using: &rng)
        arm.retries += UInt64.random(in: 0...5, using: &rng)
        arm.ejections += UInt64.random(in: 0...2, using: &rng)
        arm.tunnelsActive = Int64.random(in: 0...9, using: &rng)
        arm.tunnelsEnded += UInt64.random(in: 0...4, using: &rng)
        arm.tunnelDurationNanoseconds += UInt64.random(in: 0...1 << 40, using: &rng)
        arm.mirror =
            arm.mirror + MirrorCounts(results: [1, 0, 2, 0, 3], mismatches: [0, 1, 0], mismatched: UInt64.random(in: 0...1, using: &rng))
        return arm
    }

    @Test func theSumOfDeltasIsTheDeltaOfTheSums() {
        var rng = SplitMix64(seed: 16)
        for _ in 0..<50 {
            let a1 = Self.grown(from: ArmSnapshot(), &rng)
            let b1 = Self.grown(from: ArmSnapshot(), &rng)
            let a2 = Self.grown(from: a1, &rng)
            let b2 = Self.grown(from: b1, &rng)
            #expect((a2 + b2).delta(since: a1 + b1) == a2.delta(since: a1) + b2.delta(since: b1))
        }
    }

    @Test func countersAndGaugesAddAndZeroIsTheIdentity() {
        var rng = SplitMix64(seed: 7)
        let a = Self.grown(from: ArmSnapshot(), &rng)
        let b = Self.grown(from: ArmSnapshot(), &rng)
        #expect(a + ArmSnapshot() == a && ArmSnapshot() + a == a)
        #expect(a + b == b + a)
        let sum = a + b
        #expect(sum.responses == a.responses + b.responses)
        #expect(sum.failedResponses == a.failedResponses + b.failedResponses)
        #expect(sum.inFlight == a.inFlight + b.inFlight, "a gauge adds: in flight here plus in flight there")
        #expect(sum.tunnelsActive == a.tunnelsActive + b.tunnelsActive)
        #expect(sum.bytesToClient == a.bytesToClient + b.bytesToClient)
        #expect(sum.mirror[.completed] == a.mirror[.completed] + b.mirror[.completed])
        #expect(sum.mirror.mismatched == a.mirror.mismatched + b.mirror.mismatched)
    }

    @Test func histogramsMergeExactlyAsIfOneProcessRecordedEverything() {
        var rng = SplitMix64(seed: 3)
        var here = HistogramSnapshot()
        var there = HistogramSnapshot()
        var both = HistogramSnapshot()
        for _ in 0..<5_000 {
            let value = Distribution.bimodal.sample(&rng)
            if Bool.random(using: &rng) { here.record(nanoseconds: value) } else { there.record(nanoseconds: value) }
            both.record(nanoseconds: value)
        }
        let sum = here + there
        #expect(sum == both)
        #expect(sum.count == 5_000 && sum.quantile(0.99) == both.quantile(0.99))
    }

    @Test func routesSumArmByArmKeepingTheName() {
        let a = RouteSnapshot(
            name: "api", primary: ArmSnapshot(requestsByStatus: [200: 3]), canary: ArmSnapshot(requestsByStatus: [500: 1]))
        let b = RouteSnapshot(name: "api", primary: ArmSnapshot(requestsByStatus: [200: 2, 404: 1]), canary: ArmSnapshot(inFlight: 2))
        let sum = a + b
        #expect(sum.name == "api")
        #expect(sum.primary.requestsByStatus == [200: 5, 404: 1])
        #expect(sum.canary == ArmSnapshot(requestsByStatus: [500: 1], inFlight: 2))
    }

    @Test func highWaterOfAGrowingSeriesIsTheLaterSnapshot() {
        var rng = SplitMix64(seed: 11)
        let earlier = Self.grown(from: ArmSnapshot(), &rng)
        let later = Self.grown(from: earlier, &rng)
        #expect(earlier.highWater(with: later) == later)
    }

    @Test func highWaterNeverLetsACounterGoBackButTakesTheLatestGauges() {
        var rng = SplitMix64(seed: 12)
        let newer = Self.grown(from: ArmSnapshot(), &rng)
        var stale = newer
        stale.requestsByStatus[200] = 0
        stale.histogram = HistogramSnapshot()
        stale.retries = 0
        stale.inFlight = newer.inFlight + 5
        let held = newer.highWater(with: stale)
        #expect(held.requestsByStatus == newer.requestsByStatus && held.histogram == newer.histogram && held.retries == newer.retries)
        #expect(held.inFlight == stale.inFlight, "gauges are the latest report's, not the largest")
    }
}
