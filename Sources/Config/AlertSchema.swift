// The `alerts` section: where rollout events are sent as chat messages or webhook calls, and from which severity.

/// One receiver of notifications. Every event-log entry of a rollout whose severity reaches `severity` is
/// sent to it, on a thread of its own, retried `retries` times with backoff (see `AlertSender`).
public struct AlertConfig: Sendable, Equatable {
    /// Unique: metrics (`canarygate_alerts_sent_total{alert}`) and logs name the receiver by it.
    public var name: String
    public var type: AlertType
    /// `http[s]://…`, checked with the webhook client's parser (`WebhookURL`); never shown in messages,
    /// since a chat service's URL is its credential.
    public var url: String
    /// The least severe event sent: `warn` (the default) sends failed checks, held states and every error.
    public var severity: AlertSeverity = .warn
    /// Bounds each attempt: connect, TLS handshake, request and response together.
    public var timeout: Duration = .seconds(5)
    /// Attempts after the first when one fails (not 2xx, or timed out).
    public var retries: Int = 3
    /// The CA bundle an `https://` receiver's certificate is checked against; nil: the system's.
    public var caFile: String?

    public init(name: String, type: AlertType, url: String) {
        self.name = name
        self.type = type
        self.url = url
    }
}

/// The JSON a receiver takes: a chat service's incoming-webhook format, or Flagger's event payload.
public enum AlertType: String, Sendable, Equatable, CaseIterable {
    case slack
    case msteams
    case discord
    case webhook
}

/// An alert's minimum severity, in the words and order of the rollout's event severities
/// (`EventSeverity`, which lives with the rollouts that the config module does not see).
public enum AlertSeverity: String, Sendable, Equatable, CaseIterable, Comparable {
    case info, warn, error

    public static func < (a: AlertSeverity, b: AlertSeverity) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}
