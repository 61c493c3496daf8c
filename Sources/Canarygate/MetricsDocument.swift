// The text of GET /metrics: every route's measurements plus the process's own (reloads, connections, build).
import Telemetry

enum MetricsDocument {
    static let version = "0.3.0"

    static func render(_ server: Server) -> String {
        var writer = PrometheusWriter()
        renderRouteMetrics(server.state.metrics.snapshot(), into: &writer)
        let reloads = server.state.reloads
        writer.family("canarygate_config_reloads_total", type: .counter, help: "Config reloads (SIGHUP or admin API) by result.")
        writer.sample("canarygate_config_reloads_total", [("result", "success")], UInt64(reloads.successes))
        writer.sample("canarygate_config_reloads_total", [("result", "failure")], UInt64(reloads.failures))
        writer.family("canarygate_config_last_reload_success_timestamp_seconds", type: .gauge,
                      help: "Unix time of the last successful config load (start or reload).")
        writer.sample("canarygate_config_last_reload_success_timestamp_seconds", [], reloads.lastSuccessUnixTime.rounded())
        writer.family("canarygate_config_generation", type: .gauge, help: "Generation of the config serving new requests.")
        writer.sample("canarygate_config_generation", [], UInt64(server.state.snapshot.generation))
        writer.family("canarygate_active_connections", type: .gauge, help: "Open client connections, all loops.")
        writer.sample("canarygate_active_connections", [], UInt64(server.openConnections))
        writer.family("canarygate_event_loops", type: .gauge, help: "Event-loop threads.")
        writer.sample("canarygate_event_loops", [], UInt64(server.state.loopCount))
        writer.family("canarygate_build_info", type: .gauge, help: "Build information; the value is always 1.")
        writer.sample("canarygate_build_info", [("version", version)], UInt64(1))
        return writer.text
    }
}
