// Which sticky rollouts the client gate judges, without sockets: weight steps do, iterations (weight 0) do not.
@testable import Canarygate
import Config
import Proxy
import Rollout
import Telemetry
import Testing

@Suite struct StickyClientGateTests {
    private func rollout(_ analysis: AnalysisConfig) -> ManagedRollout {
        let arm = ArmConfig(revision: "v1", endpoints: [HostPort(host: "127.0.0.1", port: 9001)])
        let canary = CanaryConfig(arm: ArmConfig(revision: "v2", endpoints: [HostPort(host: "127.0.0.1", port: 9002)]), weight: 0)
        var route = RouteConfig(name: "web", match: MatchConfig(), primary: arm, canary: canary, analysis: analysis)
        route.sessionAffinity = SessionAffinityConfig(cookieName: "cg")
        var rollout = ManagedRollout(machine: RolloutMachine(route: "web", restored: nil), weight: WeightCell(0), analysis: analysis)
        rollout.route = route
        return rollout
    }

    @Test func weightStepsCountTheCanarysClients() {
        let metrics = MetricsRegistry(loopCount: 1)
        _ = metrics.clientSketch(route: "web", loop: 0)
        #expect(AffinityMetrics.canaryClients(rollout(AnalysisConfig()), metrics: metrics) == 0)
    }

    /// A canary held at 0 is reached by its cohort or mirrored copies, never by drawn clients: a gate asking
    /// for `minClients` of them would hold every interval until `progressDeadline` failed the rollout.
    @Test func iterationsAreNotHeldForClientsNobodyIsDrawn() {
        let metrics = MetricsRegistry(loopCount: 1)
        _ = metrics.clientSketch(route: "web", loop: 0)
        var analysis = AnalysisConfig()
        analysis.iterations = 3
        #expect(AffinityMetrics.canaryClients(rollout(analysis), metrics: metrics) == nil)
    }
}
