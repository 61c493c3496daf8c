// Hands each rollout event the controller records to the alert sender, with the facts a notification names.
import Config
import Rollout

extension RolloutController {
    /// Called from `.emit` after `record`, on the control thread: enqueueing never blocks it. The alerts are the
    /// running config's, so a reload's new list applies from the next event. Only a process whose machines run
    /// emits (`deliver` returns early on a fleet's followers), so a fleet sends each event once, from its leader.
    func notify(_ route: String, _ entry: RolloutEventLog, revision: String?) {
        let config = state.snapshot.config
        guard !config.alerts.isEmpty else { return }
        let event = AlertEvent(
            route: route, revision: revision ?? "", phase: entry.phase.rawValue, weight: entry.weight, severity: entry.severity,
            message: entry.message, unixTime: eventLog.last?.unixTime ?? 0, namespace: config.cluster?.name ?? "canarygate",
            replica: fleet?.agent.replica)
        alerts.enqueue(event, to: config.alerts)
    }
}
