// One rollout event as a notification tells it: route, revision, phase, weight, severity, message, time.
import Config

/// Built by the controller from an event-log entry (`RolloutEventLog`) when it records it; every payload
/// format (`AlertPayload`) says the same facts in its own JSON.
package struct AlertEvent: Sendable, Equatable {
    package var route: String
    /// The canary's revision ("" when the rollout has none yet).
    package var revision: String
    package var phase: String
    package var weight: Int
    package var severity: EventSeverity
    package var message: String
    /// Seconds since 1970, when the controller recorded the event.
    package var unixTime: Double
    /// The fleet's name (`cluster.name`), or "canarygate" alone: Flagger's payload has a namespace here.
    package var namespace: String
    /// In a fleet, the replica that leads (and sent this); nil alone.
    package var replica: String?

    /// A chat message stays readable and under every service's limit (Discord's embed description: 4,096).
    package static let messageLimit = 3_000

    package init(
        route: String, revision: String, phase: String, weight: Int, severity: EventSeverity, message: String, unixTime: Double,
        namespace: String = "canarygate", replica: String? = nil
    ) {
        self.route = route
        self.revision = revision
        self.phase = phase
        self.weight = weight
        self.severity = severity
        self.message = message.count > Self.messageLimit ? String(message.prefix(Self.messageLimit - 1)) + "…" : message
        self.unixTime = unixTime
        self.namespace = namespace
        self.replica = replica
    }

    /// The one-line summary chat services show in a notification: "ERROR web v2: Failed at weight 0".
    package var headline: String {
        "\(severity.rawValue.uppercased()) \(route)\(revision.isEmpty ? "" : " \(revision)"): \(phase) at weight \(weight)"
    }

    /// Whether an alert whose minimum is `minimum` is sent this event.
    package func reaches(_ minimum: AlertSeverity) -> Bool {
        severity >= EventSeverity(rawValue: minimum.rawValue) ?? .error
    }
}
