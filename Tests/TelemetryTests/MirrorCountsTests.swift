// The mirror counters of a canary's shards: recorded by kind and result, summed over loops, rendered only for mirrored routes.
import Testing
import Telemetry

@Suite struct MirrorCountsTests {
    @Test func resultsAndMismatchesAreSummedOverTheLoops() {
        let registry = MetricsRegistry(loopCount: 2)
        let a = registry.shard(route: "web", arm: .canary, loop: 0)
        let b = registry.shard(route: "web", arm: .canary, loop: 1)
        a.recordMirrorCompleted(status: true, body: true, latency: false)
        a.recordMirrorCompleted(status: false, body: false, latency: false)
        b.recordMirrorCompleted(status: false, body: false, latency: true)
        b.recordMirror(.dropped)
        b.recordMirror(.timeout)
        let mirror = registry.snapshot().route(named: "web")!.canary.mirror
        #expect(mirror[.completed] == 3 && mirror[.dropped] == 1 && mirror[.timeout] == 1 && mirror[.skipped] == 0)
        #expect(mirror[.status] == 1 && mirror[.body] == 1 && mirror[.latency] == 1)
        #expect(mirror.mismatched == 2, "a mirror with two kinds counts once")
        #expect(registry.snapshot().route(named: "web")!.primary.mirror == MirrorCounts())
    }

    @Test func renderedForMirroredRoutesOnlyEveryLabelFromZero() {
        let registry = MetricsRegistry(loopCount: 1)
        registry.shard(route: "web", arm: .canary, loop: 0).recordMirror(.skipped)
        _ = registry.shard(route: "api", arm: .canary, loop: 0)
        var writer = PrometheusWriter()
        renderMirrorMetrics(registry.snapshot(), mirrored: ["web"], into: &writer)
        let text = writer.text
        #expect(text.contains("canarygate_mirror_requests_total{route=\"web\",result=\"skipped\"} 1\n"))
        #expect(text.contains("canarygate_mirror_requests_total{route=\"web\",result=\"completed\"} 0\n"))
        #expect(text.contains("canarygate_mirror_mismatches_total{route=\"web\",kind=\"body\"} 0\n"))
        #expect(!text.contains("route=\"api\""))
        var none = PrometheusWriter()
        renderMirrorMetrics(registry.snapshot(), mirrored: [], into: &none)
        #expect(none.text.isEmpty, "no family without a mirrored route")
    }
}
