// The evidence codec: exact round trips of every field, its size on a typical route, and hostile bytes refused.
import Cluster
import Telemetry
import Simulation
import Testing

@Suite struct EvidenceCodecTests {
    @Test func seededRandomSnapshotsRoundTripExactly() throws {
        var rng = Xoshiro256(seed: 0xE71D)
        for _ in 0..<400 {
            let routes = RandomSnapshots.routes(&rng)
            #expect(try EvidenceCodec.decode(EvidenceCodec.encode(routes)) == routes)
        }
    }

    @Test func noRoutesIsTheVersionAndACountOfZero() throws {
        #expect(EvidenceCodec.encode([]) == [EvidenceCodec.version, 0])
        #expect(try EvidenceCodec.decode([EvidenceCodec.version, 0]) == [])
    }

    @Test func anIdleRouteIsItsNameAndFourBytesPerArm() throws {
        let idle = [RouteSnapshot(name: "api")]
        #expect(EvidenceCodec.encode(idle).count == 2 + 4 + 2 * 4)
        #expect(try EvidenceCodec.decode(EvidenceCodec.encode(idle)) == idle)
    }

    @Test func extremesRoundTrip() throws {
        let max = UInt64.max
        let arm = ArmSnapshot(
            requestsByStatus: [Int.min: max, -1: 1, 0: max, 599: max, Int.max: max], otherStatusRequests: max,
            failures: Dictionary(uniqueKeysWithValues: FailureKind.allCases.map { ($0, max) }), bytesFromClient: max, bytesToClient: max,
            inFlight: .min,
            histogram: HistogramSnapshot(counts: Array(repeating: max, count: LatencyBuckets.bucketCount), sumNanoseconds: max),
            slowInFlight: max, slowMarkedAnswered: max, retriedFailures: max, retries: max, ejections: max, tunnelsActive: .max,
            tunnelsEnded: max, tunnelDurationNanoseconds: max,
            mirror: MirrorCounts(
                results: MirrorResult.allCases.map { _ in max }, mismatches: MirrorMismatch.allCases.map { _ in max }, mismatched: max))
        var negative = ArmSnapshot(inFlight: -1, tunnelsActive: -3)
        negative.histogram.record(nanoseconds: 0)
        let routes = [RouteSnapshot(name: "max", primary: arm, canary: negative)]
        #expect(try EvidenceCodec.decode(EvidenceCodec.encode(routes)) == routes)
    }

    @Test func smallNegativeGaugesStaySmall() {
        func size(inFlight: Int64) -> Int {
            EvidenceCodec.encode([RouteSnapshot(name: "a", primary: ArmSnapshot(inFlight: inFlight))]).count
        }
        let idle = EvidenceCodec.encode([RouteSnapshot(name: "a")]).count
        #expect(size(inFlight: -1) == idle + 1, "zigzag: -1 is 1, one byte")
        #expect(size(inFlight: -64) == idle + 1 && size(inFlight: 63) == idle + 1)
        #expect(size(inFlight: -65) == idle + 2)
    }

    /// A busy route: 5 statuses, 2 failure kinds and 30 non-empty latency buckets per arm, counts up to
    /// millions (a replica hours into a rollout). The figure is in EvidenceCodec's doc comment.
    @Test func aTypicalRouteIsAFewHundredBytes() throws {
        var rng = Xoshiro256(seed: 5)
        func busyArm(scale: UInt64) -> ArmSnapshot {
            var histogram = HistogramSnapshot()
            for index in stride(from: 500, to: 800, by: 10) {
                let lower = LatencyBuckets.lowerBound(index)
                histogram.record(nanoseconds: lower, times: UInt64.random(in: 1...20_000, using: &rng) * scale)
            }
            return ArmSnapshot(
                requestsByStatus: [200: 412_345 * scale, 201: 12_001 * scale, 304: 9_876 * scale, 404: 1_234 * scale, 503: 17 * scale],
                failures: [.upstreamReset: 3, .downstreamAbort: 211 * scale], bytesFromClient: 98_765_432 * scale,
                bytesToClient: 1_234_567_890 * scale, inFlight: 12, histogram: histogram, retries: 5, ejections: 1)
        }
        let route = RouteSnapshot(name: "checkout", primary: busyArm(scale: 9), canary: busyArm(scale: 1))
        let bytes = EvidenceCodec.encode([route])
        #expect(try EvidenceCodec.decode(bytes) == [route])
        #expect((300...340).contains(bytes.count), "about the size quoted in EvidenceCodec's doc comment: \(bytes.count)")
    }

    @Test func everyTruncationIsRefused() throws {
        var rng = Xoshiro256(seed: 99)
        let bytes = EvidenceCodec.encode([RouteSnapshot(name: "api", primary: RandomSnapshots.arm(&rng), canary: RandomSnapshots.arm(&rng))]
        )
        for length in 0..<bytes.count {
            #expect(throws: EvidenceDecodingError.self) { try EvidenceCodec.decode(Array(bytes.prefix(length))) }
        }
    }

    @Test func malformedBytesNameWhatIsWrong() {
        let v = EvidenceCodec.version
        let idleArm: [UInt8] = [0, 0, 0, 0]
        let cases: [([UInt8], EvidenceDecodingError)] = [
            ([], .truncated),
            ([2, 0], .unsupportedVersion(2)),
            ([v, 0, 0], .trailingBytes(1)),
            ([v] + Array(repeating: 0xFF, count: 10) + [0x01], .varintOverflow),
            ([v, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02], .varintOverflow),
            ([v, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F], .countTooLarge(0xFFFF_FFFF)),
            ([v, 1, 0x7F] + idleArm + idleArm, .countTooLarge(0x7F)),
            ([v, 1, 2, 0xC3, 0x28] + idleArm + idleArm, .invalidRouteName),
            ([v, 2, 1, 0x61] + idleArm + idleArm + [1, 0x61] + idleArm + idleArm, .duplicateRoute("a")),
            ([v, 1, 1, 0x61, 0x80, 0x80, 0x80, 0x02, 1, 0, 0, 0] + idleArm, .unknownFields(1 << 22)),
            ([v, 1, 1, 0x61, 1, 0, 0, 0, 0] + idleArm, .zeroValue),
            ([v, 1, 1, 0x61, 0, 2, 200, 1, 1, 0, 1, 0, 0] + idleArm, .outOfOrder),
            ([v, 1, 1, 0x61, 0, 0, 1, 10, 1, 0] + idleArm, .unknownFailureKind(10)),
            ([v, 1, 1, 0x61, 0, 0, 2, 3, 1, 2, 1, 0] + idleArm, .outOfOrder),
            ([v, 1, 1, 0x61, 0, 0, 0, 1, 0xF4, 0x0C, 1] + idleArm, .bucketOutOfRange),
            ([v, 1, 1, 0x61, 0, 0, 0, 2, 5, 1, 0, 1] + idleArm, .outOfOrder),
        ]
        for (bytes, expected) in cases {
            #expect(throws: expected, "\(bytes)") { try EvidenceCodec.decode(bytes) }
        }
    }

    /// A decoded arm is a dense histogram however short its encoding: the route count bounds the memory.
    @Test func moreThanTheMaximumRoutesIsRefusedWhole() throws {
        let routes = (0...EvidenceCodec.maximumRoutes).map { RouteSnapshot(name: "r\($0)") }
        #expect(throws: EvidenceDecodingError.tooManyRoutes(EvidenceCodec.maximumRoutes + 1)) {
            try EvidenceCodec.decode(EvidenceCodec.encode(routes))
        }
        #expect(try EvidenceCodec.decode(EvidenceCodec.encode(Array(routes.dropLast()))).count == EvidenceCodec.maximumRoutes)
    }

    @Test func theLastBucketIsInRangeAndOnePastItIsNot() throws {
        let v = EvidenceCodec.version
        let last = UInt64(LatencyBuckets.overflowIndex)
        let lastStep: [UInt8] = [UInt8(last & 0x7F) | 0x80, UInt8(last >> 7)]
        let decoded = try EvidenceCodec.decode([v, 1, 1, 0x61, 0, 0, 0, 1] + lastStep + [7, 0, 0, 0, 0])
        #expect(decoded.first?.primary.histogram.counts[LatencyBuckets.overflowIndex] == 7)
        #expect(decoded.first?.primary.histogram.count == 7)
    }

    /// Random bytes and random corruptions of valid encodings: every one decodes or throws, never traps.
    @Test func hostileBytesNeverTrap() {
        var rng = Xoshiro256(seed: 0xBAD)
        var refused = 0
        for round in 0..<3_000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = (0..<Int.random(in: 0...64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                if !bytes.isEmpty { bytes[0] = EvidenceCodec.version }
            } else {
                bytes = EvidenceCodec.encode(RandomSnapshots.routes(&rng))
                for _ in 0..<Int.random(in: 1...4, using: &rng) where bytes.count > 1 {
                    bytes[Int.random(in: 1..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                }
            }
            do { _ = try EvidenceCodec.decode(bytes) } catch { refused += 1 }
        }
        #expect(refused > 1_000, "most random bytes are not evidence")
    }
}
