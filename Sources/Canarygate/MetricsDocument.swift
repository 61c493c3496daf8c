// The text of GET /metrics: every route's measurements plus the process's own (reloads, connections, build).
import Analysis
import Foundation
import Proxy
import Rollout
import Telemetry

enum MetricsDocument {
    static let version = "0.3.0"

    static func render(_ server: Server) -> String {
        var writer = PrometheusWriter()
        let measured = server.state.metrics.snapshot()
        renderRouteMetrics(measured, into: &writer)
        renderMirrorMetrics(
            measured, mirrored: Set(server.state.snapshot.routes.byIndex.filter { $0.mirror != nil }.map(\.name)), into: &writer)
        renderRollouts(server, into: &writer)
        server.clusterStatus?.render(into: &writer)
        AlertMetrics.render(server, into: &writer)
        server.adminEventStreams.render(into: &writer)
        server.accessLog.render(into: &writer)
        let reloads = server.state.reloads
        writer.family("canarygate_config_reloads_total", type: .counter, help: "Config reloads (SIGHUP or admin API) by result.")
        writer.sample("canarygate_config_reloads_total", [("result", "success")], UInt64(reloads.successes))
        writer.sample("canarygate_config_reloads_total", [("result", "failure")], UInt64(reloads.failures))
        writer.family(
            "canarygate_config_last_reload_success_timestamp_seconds", type: .gauge,
            help: "Unix time of the last successful config load (start or reload).")
        writer.sample("canarygate_config_last_reload_success_timestamp_seconds", [], reloads.lastSuccessUnixTime.rounded())
        writer.family("canarygate_config_generation", type: .gauge, help: "Generation of the config serving new requests.")
        writer.sample("canarygate_config_generation", [], UInt64(server.state.snapshot.generation))
        writer.family("canarygate_active_connections", type: .gauge, help: "Open client connections, all loops.")
        let perLoop = server.openConnectionsPerLoop
        writer.sample("canarygate_active_connections", [], UInt64(perLoop.reduce(0, +)))
        writer.family("canarygate_loop_active_connections", type: .gauge, help: "Open client connections of each event loop.")
        for (loop, count) in perLoop.enumerated() {
            writer.sample("canarygate_loop_active_connections", [("loop", "\(loop)")], UInt64(count))
        }
        writer.family(
            "canarygate_buffer_pool_bytes", type: .gauge,
            help: "Bytes of I/O buffers the event loops own, in use and cached; what stayed unused for a second is freed.")
        writer.sample("canarygate_buffer_pool_bytes", [], UInt64(server.bufferPoolBytes))
        writer.family(
            "canarygate_max_connections", type: .gauge,
            help: "Client connections beyond which listeners stop accepting (limits.maxConnections, or derived from the descriptor limit).")
        writer.sample(
            "canarygate_max_connections", [],
            UInt64(ConnectionBudget.maxConnections(server.state.snapshot.config, loops: server.state.loopCount)))
        let listeners = server.state.metrics.listeners
        writer.family("canarygate_listener_connections", type: .gauge, help: "Open client connections of each listener, all loops.")
        for l in listeners {
            writer.sample("canarygate_listener_connections", [("listener", l.name)], Int64(l.connections.load(ordering: .relaxed)))
        }
        writer.family(
            "canarygate_listener_limited_total", type: .counter,
            help: "Times a listener's socket stopped accepting because its or the proxy's maxConnections was reached.")
        for l in listeners {
            writer.sample("canarygate_listener_limited_total", [("listener", l.name)], l.limited.load(ordering: .relaxed))
        }
        writer.family(
            "canarygate_connections_handed_over_total", type: .counter,
            help: "Accepted connections handed to the event loop with the fewest open (listeners with balance: connections).")
        writer.sample("canarygate_connections_handed_over_total", [], UInt64(server.connectionsHandedOver))
        let spliced = server.splicedBytes
        writer.family(
            "canarygate_spliced_bytes_total", type: .counter,
            help: "HTTP/1.1 body bytes moved with splice(2) between plain-TCP sockets, by direction (limits.splice).")
        writer.sample("canarygate_spliced_bytes_total", [("direction", "request")], spliced.toUpstream)
        writer.sample("canarygate_spliced_bytes_total", [("direction", "response")], spliced.toClient)
        writer.family("canarygate_event_loops", type: .gauge, help: "Event-loop threads.")
        writer.sample("canarygate_event_loops", [], UInt64(server.state.loopCount))
        writer.family("canarygate_build_info", type: .gauge, help: "Build information; the value is always 1.")
        writer.sample("canarygate_build_info", [("version", version)], UInt64(1))
        return writer.text
    }

    /// Weights of every route, and each managed route's phase, failed checks, verdict evidence and results.
    private static func renderRollouts(_ server: Server, into writer: inout PrometheusWriter) {
        let snapshot = server.state.snapshot
        writer.family("canarygate_canary_weight", type: .gauge, help: "Percent of the route's requests sent to the canary.")
        for route in snapshot.routes.byIndex {
            writer.sample("canarygate_canary_weight", [("route", route.name)], UInt64(route.weight.weight))
        }
        AffinityMetrics.render(server, into: &writer)
        let rollouts = server.rolloutStatuses
        guard !rollouts.isEmpty else { return }
        writer.family("canarygate_rollout_phase", type: .gauge, help: "1 for the rollout's current phase, 0 for the others.")
        for (route, state) in rollouts {
            for phase in Phase.allCases {
                writer.sample(
                    "canarygate_rollout_phase", [("route", route), ("phase", phase.rawValue)], UInt64(phase == state.phase ? 1 : 0))
            }
        }
        writer.family("canarygate_rollout_failed_checks", type: .gauge, help: "Failed checks of the rollout in progress.")
        for (route, state) in rollouts {
            writer.sample("canarygate_rollout_failed_checks", [("route", route)], UInt64(state.failedChecks))
        }
        writer.family(
            "canarygate_analysis_evidence", type: .gauge,
            help: "Figures behind the last verdicts: measured values, thresholds, sample sizes, statistics.")
        for (route, state) in rollouts {
            for verdict in state.lastVerdicts {
                for e in verdict.evidence where e.value.isFinite {
                    writer.sample("canarygate_analysis_evidence", [("route", route), ("judge", verdict.judge), ("name", e.name)], e.value)
                }
            }
        }
        let judges = server.rolloutJudges
        writer.family(
            "canarygate_judge_log10_e_value", type: .gauge,
            help: "The rollout's sequential evidence against the canary (log10 of the e-value), in all and by outcome class.")
        writer.family(
            "canarygate_judge_alpha", type: .gauge,
            help:
                "The false-rollback budget: alpha of the sequential judge in all and each class's share; the comparison's alpha not yet spent."
        )
        for (route, j) in judges {
            let s = j.evidence.sequential
            writer.sample("canarygate_judge_log10_e_value", [("route", route), ("class", "all")], s.logEValue / log(10.0))
            writer.sample("canarygate_judge_alpha", [("route", route), ("judge", "sequential"), ("class", "all")], s.alpha)
            for c in OutcomeClass.allCases {
                writer.sample("canarygate_judge_log10_e_value", [("route", route), ("class", c.label)], s.logEValue(c) / log(10.0))
                writer.sample(
                    "canarygate_judge_alpha", [("route", route), ("judge", "sequential"), ("class", c.label)],
                    s.alpha * SequentialJudge.weights[c]!)
            }
            writer.sample(
                "canarygate_judge_alpha", [("route", route), ("judge", "comparison-remaining"), ("class", "all")],
                j.comparisonAlphaRemaining)
        }
        let results = server.rolloutResults
        writer.family("canarygate_rollouts_total", type: .counter, help: "Finished rollouts by result.")
        for (route, _) in rollouts {
            let r = results[route] ?? (0, 0)
            writer.sample("canarygate_rollouts_total", [("route", route), ("result", "succeeded")], UInt64(r.succeeded))
            writer.sample("canarygate_rollouts_total", [("route", route), ("result", "failed")], UInt64(r.failed))
        }
    }
}
