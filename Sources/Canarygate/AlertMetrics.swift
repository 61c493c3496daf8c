// The notifications' counters in /metrics: messages sent and failed per alert, and those dropped from full queues.
import Telemetry

enum AlertMetrics {
    /// Written when the config has alerts or any was counted (an alert a reload removed keeps its counts).
    static func render(_ server: Server, into writer: inout PrometheusWriter) {
        let counts = server.alertCounts
        let names = Set(server.state.snapshot.config.alerts.map(\.name)).union(counts.sent.keys).union(counts.failed.keys).sorted()
        guard !names.isEmpty else { return }
        writer.family("canarygate_alerts_sent_total", type: .counter, help: "Notifications a receiver accepted (2xx), by alert.")
        for name in names { writer.sample("canarygate_alerts_sent_total", [("alert", name)], UInt64(counts.sent[name] ?? 0)) }
        writer.family(
            "canarygate_alerts_failed_total", type: .counter, help: "Notifications given up after their last retry, by alert.")
        for name in names { writer.sample("canarygate_alerts_failed_total", [("alert", name)], UInt64(counts.failed[name] ?? 0)) }
        writer.family(
            "canarygate_alerts_dropped_total", type: .counter, help: "Notifications dropped because their alert's queue was full.")
        writer.sample("canarygate_alerts_dropped_total", [], UInt64(counts.dropped))
    }
}
