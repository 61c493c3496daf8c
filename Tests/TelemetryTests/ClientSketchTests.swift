// Distinct clients per arm by linear counting, merged over loops, over a window of one to two minutes.
import Testing
import Telemetry

@Suite struct ClientSketchTests {
    private let minute = ClientSketch.window
    /// A time well past the clock's start, as a loop's monotonic clock reads.
    private let t0: UInt64 = 1_000 * 1_000_000_000

    /// Distinct uniform positions from a fixed seed (the module's SplitMix64).
    private func positions(_ count: Int, seed: UInt64) -> [UInt32] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in UInt32(truncatingIfNeeded: rng.next() >> 32) }
    }

    @Test func distinctClientsAreEstimatedAndRepeatsCountOnlyAsRequests() throws {
        let registry = MetricsRegistry(loopCount: 2)
        let loops = [registry.clientSketch(route: "web", loop: 0), registry.clientSketch(route: "web", loop: 1)]
        let canary = positions(1_000, seed: 1), primary = positions(9_000, seed: 2)
        // Each client sends three requests, on whichever loop its connection lands.
        for round in 0..<3 {
            for (i, p) in canary.enumerated() { loops[(i + round) % 2].note(position: p, canary: true, now: t0) }
            for (i, p) in primary.enumerated() { loops[(i + round) % 2].note(position: p, canary: false, now: t0) }
        }
        let counts = try #require(registry.clientCounts(route: "web", now: t0 + 1))
        #expect(counts.canaryRequests == 3_000 && counts.primaryRequests == 27_000)
        // Linear counting's standard error at these loads is well under 1%; 3% is over three of them.
        #expect(abs(counts.canaryClients - 1_000) < 30)
        #expect(abs(counts.primaryClients - 9_000) < 270)
        #expect(abs(try #require(counts.canaryClientShare) - 0.1) < 0.005)
        #expect(counts.canaryRequestShare == 0.1)
        #expect(registry.clientCounts(route: "other", now: t0) == nil)
    }

    @Test func theWindowKeepsThePreviousMinuteAndForgetsOlder() throws {
        let registry = MetricsRegistry(loopCount: 1)
        let sketch = registry.clientSketch(route: "web", loop: 0)
        for p in positions(100, seed: 3) { sketch.note(position: p, canary: true, now: t0) }
        // A minute later a new generation starts; the first one is still the previous minute.
        for p in positions(50, seed: 4) { sketch.note(position: p, canary: false, now: t0 + minute) }
        let both = try #require(registry.clientCounts(route: "web", now: t0 + minute))
        #expect(both.canaryRequests == 100 && both.primaryRequests == 50)
        // Another minute: the first generation is cleared and reused.
        sketch.note(position: 7, canary: false, now: t0 + 2 * minute)
        let later = try #require(registry.clientCounts(route: "web", now: t0 + 2 * minute))
        #expect(later.canaryRequests == 0 && later.primaryRequests == 51)
        #expect(later.canaryClients == 0)
        // A loop that saw nothing for two minutes reports nothing.
        let idle = try #require(registry.clientCounts(route: "web", now: t0 + 5 * minute))
        #expect(idle.primaryRequests == 0 && idle.canaryClientShare == nil && idle.canaryRequestShare == nil)
    }

    @Test func linearCountingSaturatesAtItsBound() {
        #expect(ClientCounts.estimate(zeros: 16384, bits: 16384) == 0)
        #expect(abs(ClientCounts.estimate(zeros: 8192, bits: 16384) - 16384 * 0.693147) < 1)
        #expect(ClientCounts.estimate(zeros: 0, bits: 16384) > 158_000)
    }
}
