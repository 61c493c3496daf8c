// The observed shares of sticky routes for /metrics and /status: what the canary really gets, in clients and in requests.
import Analysis
import EventLoop
import Proxy
import Telemetry

enum AffinityMetrics {
    /// Each sticky route's recent clients and requests per arm (`ClientSketch`), by route, in config order.
    static func counts(_ server: Server) -> [(route: String, counts: ClientCounts)] {
        let now = MonotonicClock.nowNanoseconds()
        return server.state.snapshot.routes.byIndex.compactMap { route in
            guard route.affinity != nil, let counts = server.state.metrics.clientCounts(route: route.name, now: now) else { return nil }
            return (route.name, counts)
        }
    }

    /// `canarygate_canary_observed_share` (percent, beside `canarygate_canary_weight`) and
    /// `canarygate_sticky_clients`, for routes with session affinity; nothing when there are none.
    static func render(_ server: Server, into writer: inout PrometheusWriter) {
        let sticky = counts(server)
        guard !sticky.isEmpty else { return }
        writer.family(
            "canarygate_canary_observed_share", type: .gauge,
            help: "Percent of the route's recent clients (estimated) or requests that the canary got (session affinity; last 1-2 min).")
        for (route, counts) in sticky {
            if let share = counts.canaryClientShare {
                writer.sample("canarygate_canary_observed_share", [("route", route), ("unit", "clients")], share * 100)
            }
            if let share = counts.canaryRequestShare {
                writer.sample("canarygate_canary_observed_share", [("route", route), ("unit", "requests")], share * 100)
            }
        }
        writer.family(
            "canarygate_sticky_clients", type: .gauge,
            help: "Distinct clients of each arm seen in the last 1-2 minutes (session affinity; linear-counting estimate).")
        for (route, counts) in sticky {
            writer.sample("canarygate_sticky_clients", [("route", route), ("arm", "primary")], counts.primaryClients.rounded())
            writer.sample("canarygate_sticky_clients", [("route", route), ("arm", "canary")], counts.canaryClients.rounded())
        }
    }

    /// The `/status` field of a sticky route: `{"primaryClients":…,"canaryClients":…,"clientShare":…,"requestShare":…}`.
    static func statusField(_ counts: ClientCounts) -> String {
        func percent(_ share: Double?) -> String { share.map { StatusDocument.number(($0 * 1000).rounded() / 10) } ?? "null" }
        return "{\"primaryClients\":\(Int(counts.primaryClients.rounded())),\"canaryClients\":\(Int(counts.canaryClients.rounded())),"
            + "\"clientSharePercent\":\(percent(counts.canaryClientShare)),\"requestSharePercent\":\(percent(counts.canaryRequestShare))}"
    }
}

extension AffinityMetrics {
    /// The distinct canary clients of a managed route with `sessionAffinity` (recent window, by the real
    /// clock the loops count with); nil for a route without affinity, whose verdicts count requests only, and
    /// in iterations mode (`ClientGate.applies`).
    static func canaryClients(_ rollout: ManagedRollout, metrics: MetricsRegistry) -> Double? {
        guard let route = rollout.route, route.sessionAffinity != nil, route.canary != nil, ClientGate.applies(to: rollout.analysis)
        else { return nil }
        return metrics.clientCounts(route: route.name, now: MonotonicClock.nowNanoseconds())?.canaryClients ?? 0
    }
}
