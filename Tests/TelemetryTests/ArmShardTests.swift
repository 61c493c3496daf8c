// A shard's counters, a registry's per-route series, and snapshot deltas.
import Testing
import Telemetry

@Suite struct ArmShardTests {
    @Test func countsStatusesFailuresBytesAndInFlight() {
        let shard = ArmShard()
        for _ in 0..<5 { shard.requestStarted() }
        shard.recordResponse(status: 200, latencyNanoseconds: 1_000_000, bytesFromClient: 100, bytesToClient: 1_000)
        shard.recordResponse(status: 200, latencyNanoseconds: 2_000_000, bytesFromClient: 10, bytesToClient: 20)
        shard.recordFailure(.connectRefused)
        shard.recordResponse(status: 502, latencyNanoseconds: 50_000, bytesFromClient: 0, bytesToClient: 0)
        shard.recordResponse(status: 99, latencyNanoseconds: 5_000, bytesFromClient: 0, bytesToClient: 0)
        shard.recordResponse(status: 600, latencyNanoseconds: 5_000, bytesFromClient: 0, bytesToClient: 0)
        let snapshot = shard.snapshot()
        #expect(snapshot.requestsByStatus == [200: 2, 502: 1])
        #expect(snapshot.otherStatusRequests == 2)
        #expect(snapshot.requests(status: 200) == 2)
        #expect(snapshot.requests(status: 1_000) == 2)
        #expect(snapshot.responses == 5)
        #expect(snapshot.serverErrors == 1)
        #expect(snapshot.failures == [.connectRefused: 1])
        #expect(snapshot.bytesFromClient == 110)
        #expect(snapshot.bytesToClient == 1_020)
        #expect(snapshot.inFlight == 0)
        #expect(snapshot.histogram.count == 5)
        #expect(snapshot.histogram.sumNanoseconds == 3_060_000)
    }

    /// An abort ends the request but is not a response: no status, no latency.
    @Test func abortIsNotAResponse() {
        let shard = ArmShard()
        shard.requestStarted()
        shard.requestStarted()
        shard.recordAbort()
        let snapshot = shard.snapshot()
        #expect(snapshot.failureCount(.downstreamAbort) == 1)
        #expect(snapshot.responses == 0)
        #expect(snapshot.histogram == HistogramSnapshot())
        #expect(snapshot.inFlight == 1)
    }

    @Test func inFlightCanBeNegativeOnlyWhenMisused() {
        let shard = ArmShard()
        shard.recordAbort()
        #expect(shard.snapshot().inFlight == -1)
    }

    @Test func failureLabels() {
        #expect(
            FailureKind.allCases.map(\.label) == [
                "connect_refused", "connect_failed", "connect_timeout", "tls_handshake_failed", "upstream_reset", "upstream_closed",
                "invalid_response", "response_timeout", "grpc_error", "downstream_abort",
            ])
        #expect(FailureKind.allCases.filter { !$0.isUpstream } == [.downstreamAbort])
    }

    @Test func registrySumsLoopsAndKeepsSeriesAcrossLookups() throws {
        let registry = MetricsRegistry(loopCount: 3)
        for loop in 0..<3 {
            let shard = registry.shard(route: "api", arm: .canary, loop: loop)
            #expect(shard === registry.shard(route: "api", arm: .canary, loop: loop))
            for _ in 0...loop { shard.recordResponse(status: 503, latencyNanoseconds: 10_000, bytesFromClient: 1, bytesToClient: 2) }
        }
        registry.shard(route: "web", arm: .primary, loop: 1).recordFailure(.upstreamReset)
        let snapshot = registry.snapshot()
        #expect(snapshot.routes.map(\.name) == ["api", "web"])
        let api = try #require(snapshot.route(named: "api"))
        #expect(api.canary.requestsByStatus == [503: 6])
        #expect(api.canary.bytesToClient == 12)
        #expect(api.primary == ArmSnapshot())
        #expect(snapshot.route(named: "web")?.primary.failures == [.upstreamReset: 1])
        #expect(snapshot.route(named: "nope") == nil)
    }

    /// Table test: for several seeds, record a random mix, snapshot, record more, snapshot: the delta
    /// equals a fresh shard that saw only the second part (in-flight aside, which stays current).
    @Test(arguments: [1, 2, 3, 4, 5] as [UInt64])
    func deltaIsWhatHappenedInBetween(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        let registry = MetricsRegistry(loopCount: 2)
        let reference = MetricsRegistry(loopCount: 1)
        func play(_ count: Int, alsoInto other: MetricsRegistry?) {
            for _ in 0..<count {
                let route = ["a", "b", "c"].randomElement(using: &rng)!
                let arm = Arm.allCases.randomElement(using: &rng)!
                let targets =
                    [registry.shard(route: route, arm: arm, loop: Int.random(in: 0..<2, using: &rng))]
                    + (other.map { [$0.shard(route: route, arm: arm, loop: 0)] } ?? [])
                let status = [200, 200, 200, 404, 502, 503, 700].randomElement(using: &rng)!
                let latency = Distribution.allCases.randomElement(using: &rng)!.sample(&rng)
                let bytes = UInt64.random(in: 0...10_000, using: &rng)
                let failure = FailureKind.allCases.randomElement(using: &rng)!
                let aborted = Int.random(in: 0..<10, using: &rng) == 0
                for shard in targets {
                    shard.requestStarted()
                    if aborted { shard.recordAbort(); continue }
                    if status >= 502 { shard.recordFailure(failure) }
                    shard.recordResponse(status: status, latencyNanoseconds: latency, bytesFromClient: bytes, bytesToClient: bytes * 3)
                }
            }
        }
        play(3_000, alsoInto: nil)
        let before = registry.snapshot()
        play(2_000, alsoInto: reference)
        // A request left open: in-flight is the current value in a delta, not a difference.
        registry.shard(route: "a", arm: .primary, loop: 1).requestStarted()
        let delta = registry.snapshot().delta(since: before)
        var expected = reference.snapshot()
        for i in expected.routes.indices where expected.routes[i].name == "a" { expected.routes[i].primary.inFlight = 1 }
        #expect(delta == expected)
    }

    @Test func deltaOfANewRouteCountsFromZero() {
        let registry = MetricsRegistry(loopCount: 1)
        let before = registry.snapshot()
        registry.shard(route: "new", arm: .primary, loop: 0).recordResponse(
            status: 200, latencyNanoseconds: 1, bytesFromClient: 0, bytesToClient: 0)
        let after = registry.snapshot()
        #expect(after.delta(since: before) == after)
    }
}
