// Seeded random arm and route snapshots for the evidence codec's and merger's property tests.
import Simulation
import Telemetry

enum RandomSnapshots {
    /// A value of any magnitude: often 0, often small, sometimes near `UInt64.max`, so every varint length occurs.
    static func counter(_ rng: inout Xoshiro256) -> UInt64 {
        switch UInt8.random(in: 0..<6, using: &rng) {
        case 0, 1: 0
        case 2: UInt64.random(in: 1...127, using: &rng)
        case 3: UInt64.random(in: 128...1_000_000, using: &rng)
        case 4: UInt64.max - UInt64.random(in: 0...3, using: &rng)
        default: rng.next() >> UInt64.random(in: 0...63, using: &rng)
        }
    }

    static func gauge(_ rng: inout Xoshiro256) -> Int64 {
        switch UInt8.random(in: 0..<4, using: &rng) {
        case 0: 0
        case 1: Int64.random(in: -5...50, using: &rng)
        case 2: Bool.random(using: &rng) ? .min : .max
        default: Int64(bitPattern: rng.next())
        }
    }

    static func arm(_ rng: inout Xoshiro256) -> ArmSnapshot {
        var statuses: [Int: UInt64] = [:]
        for _ in 0..<Int.random(in: 0...8, using: &rng) {
            statuses[Int.random(in: 100...599, using: &rng)] = counter(&rng)
        }
        var failures: [FailureKind: UInt64] = [:]
        for kind in FailureKind.allCases where Bool.random(using: &rng) { failures[kind] = counter(&rng) }
        var buckets = [UInt64](repeating: 0, count: LatencyBuckets.bucketCount)
        for _ in 0..<Int.random(in: 0...40, using: &rng) {
            buckets[Int.random(in: 0..<LatencyBuckets.bucketCount, using: &rng)] = counter(&rng)
        }
        // The first and the overflow bucket sometimes, to cover both ends of the index steps.
        if Bool.random(using: &rng) { buckets[0] = counter(&rng) }
        if Bool.random(using: &rng) { buckets[LatencyBuckets.overflowIndex] = counter(&rng) }
        return ArmSnapshot(
            requestsByStatus: statuses, otherStatusRequests: counter(&rng), failures: failures,
            bytesFromClient: counter(&rng), bytesToClient: counter(&rng), inFlight: gauge(&rng),
            histogram: HistogramSnapshot(counts: buckets, sumNanoseconds: counter(&rng)),
            slowInFlight: counter(&rng), slowMarkedAnswered: counter(&rng), retriedFailures: counter(&rng),
            retries: counter(&rng), ejections: counter(&rng), tunnelsActive: gauge(&rng), tunnelsEnded: counter(&rng),
            tunnelDurationNanoseconds: counter(&rng),
            mirror: MirrorCounts(
                results: MirrorResult.allCases.map { _ in counter(&rng) }, mismatches: MirrorMismatch.allCases.map { _ in counter(&rng) },
                mismatched: counter(&rng)))
    }

    static func routes(_ rng: inout Xoshiro256) -> [RouteSnapshot] {
        let names = ["api", "web", "checkout-v2", "ünïcode", "", "a.b_c"].filter { _ in Bool.random(using: &rng) }
        return names.map { RouteSnapshot(name: $0, primary: arm(&rng), canary: arm(&rng)) }
    }
}
