// Tunnels on an arm's shard: the open gauge, the ended count and their summed lives, and how /metrics shows them.
import Testing
import Telemetry

@Suite struct TunnelMetricsTests {
    @Test func aTunnelIsActiveUntilItEndsThenCountedWithItsDuration() {
        let shard = ArmShard()
        shard.tunnelOpened()
        shard.tunnelOpened()
        #expect(shard.snapshot().tunnelsActive == 2)
        shard.tunnelClosed(durationNanoseconds: 1_500_000_000)
        let snapshot = shard.snapshot()
        #expect(snapshot.tunnelsActive == 1)
        #expect(snapshot.tunnelsEnded == 1)
        #expect(snapshot.tunnelDurationNanoseconds == 1_500_000_000)
        // A tunnel is not a request: the response counts (its 101) are recorded apart, by the exchange.
        #expect(snapshot.responses == 0 && snapshot.inFlight == 0)
    }

    @Test func aDeltaKeepsTheGaugeAndSubtractsTheCounters() {
        let earlier = ArmSnapshot(tunnelsActive: 3, tunnelsEnded: 2, tunnelDurationNanoseconds: 10)
        let later = ArmSnapshot(tunnelsActive: 1, tunnelsEnded: 5, tunnelDurationNanoseconds: 40)
        let delta = later.delta(since: earlier)
        #expect(delta.tunnelsActive == 1 && delta.tunnelsEnded == 3 && delta.tunnelDurationNanoseconds == 30)
    }

    @Test func metricsShowTheGaugeAndTheDurationSummaryPerArm() {
        let canary = ArmSnapshot(tunnelsActive: 1, tunnelsEnded: 2, tunnelDurationNanoseconds: 2_500_000_000)
        var writer = PrometheusWriter()
        renderRouteMetrics(MetricsSnapshot(routes: [RouteSnapshot(name: "web", canary: canary)]), into: &writer)
        let text = writer.text
        #expect(text.contains("# TYPE canarygate_tunnels_active gauge\n"))
        #expect(text.contains("canarygate_tunnels_active{route=\"web\",arm=\"canary\"} 1\n"))
        #expect(text.contains("canarygate_tunnels_active{route=\"web\",arm=\"primary\"} 0\n"))
        #expect(text.contains("# TYPE canarygate_tunnel_duration_seconds summary\n"))
        #expect(text.contains("canarygate_tunnel_duration_seconds_sum{route=\"web\",arm=\"canary\"} 2.5\n"))
        #expect(text.contains("canarygate_tunnel_duration_seconds_count{route=\"web\",arm=\"canary\"} 2\n"))
    }
}
