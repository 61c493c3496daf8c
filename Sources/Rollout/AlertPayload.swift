// The JSON bodies of a notification: Slack, Microsoft Teams and Discord webhooks, and Flagger's event payload.
import Config
import EventLoop

/// Pure functions of an `AlertEvent`: each names the route, revision, phase, weight, severity and message.
///
/// Slack gets a `text` (what the notification and clients without attachments show) and one legacy
/// attachment with the severity's colour bar and the facts as fields. Block Kit would be the newer format,
/// but blocks have no colour, and the colour is how a channel tells an error from a step at a glance.
package enum AlertPayload {
    package static func body(_ event: AlertEvent, as type: AlertType) -> [UInt8] {
        switch type {
        case .slack: slack(event).bytes
        case .msteams: teams(event).bytes
        case .discord: discord(event).bytes
        case .webhook: webhook(event).bytes
        }
    }

    /// The facts every chat format lists, in this order.
    static func facts(_ event: AlertEvent) -> [(name: String, value: String)] {
        var facts = [
            ("Route", event.route), ("Revision", event.revision.isEmpty ? "-" : event.revision), ("Phase", event.phase),
            ("Weight", "\(event.weight)%"), ("Severity", event.severity.rawValue),
        ]
        if let replica = event.replica { facts.append(("Replica", replica)) }
        return facts
    }

    /// Green for a step, amber for a warning, red for a rollback (Slack's own palette).
    static func colour(_ severity: EventSeverity) -> Int {
        switch severity {
        case .info: 0x2EB67D
        case .warn: 0xECB22E
        case .error: 0xE01E5A
        }
    }

    static func hexColour(_ severity: EventSeverity) -> String {
        let hex = String(colour(severity), radix: 16, uppercase: true)
        return String(repeating: "0", count: 6 - hex.count) + hex
    }

    static func slack(_ event: AlertEvent) -> AlertJSON {
        // Slack reads <…> as links and mentions (<!channel>) and & as an entity: its documented escapes.
        func escaped(_ text: String) -> AlertJSON {
            .string(text.replacing("&", with: "&amp;").replacing("<", with: "&lt;").replacing(">", with: "&gt;"))
        }
        let fields = facts(event).map {
            AlertJSON.object([("title", .string($0.name)), ("value", escaped($0.value)), ("short", .bool(true))])
        }
        return .object([
            ("text", escaped(event.headline)),
            (
                "attachments",
                .array([
                    .object([
                        ("color", .string("#" + hexColour(event.severity))), ("text", escaped(event.message)), ("fields", .array(fields)),
                        ("footer", .string(event.namespace == "canarygate" ? "canarygate" : "canarygate fleet \(event.namespace)")),
                        ("ts", .int(Int(event.unixTime))),
                    ])
                ])
            ),
        ])
    }

    /// An Adaptive Card (1.4) inside a message, the only form Teams Workflows webhooks take (Office 365 connectors
    /// and their MessageCard are being retired): the headline in the severity's colour, the message, the facts.
    static func teams(_ event: AlertEvent) -> AlertJSON {
        let facts = facts(event).map { AlertJSON.object([("title", .string($0.name)), ("value", .string($0.value))]) }
        let card = AlertJSON.object([
            ("$schema", .string("http://adaptivecards.io/schemas/adaptive-card.json")), ("type", .string("AdaptiveCard")),
            ("version", .string("1.4")),
            (
                "body",
                .array([
                    .object([
                        ("type", .string("TextBlock")), ("text", .string(event.headline)), ("weight", .string("Bolder")),
                        ("size", .string("Medium")), ("color", .string(teamsColour(event.severity))), ("wrap", .bool(true)),
                    ]),
                    .object([("type", .string("TextBlock")), ("text", .string(event.message)), ("wrap", .bool(true))]),
                    .object([("type", .string("FactSet")), ("facts", .array(facts))]),
                ])
            ),
        ])
        return .object([
            ("type", .string("message")),
            (
                "attachments",
                .array([
                    .object([
                        ("contentType", .string("application/vnd.microsoft.card.adaptive")), ("contentUrl", .null),
                        ("content", card),
                    ])
                ])
            ),
        ])
    }

    /// Adaptive Cards name their colours by meaning, not value: the closest to Slack's green, amber and red.
    static func teamsColour(_ severity: EventSeverity) -> String {
        switch severity {
        case .info: "Good"
        case .warn: "Warning"
        case .error: "Attention"
        }
    }

    /// `allowed_mentions` with nothing to parse: a message that quotes "@everyone" must not ping a server.
    static func discord(_ event: AlertEvent) -> AlertJSON {
        let fields = facts(event).map {
            AlertJSON.object([("name", .string($0.name)), ("value", .string($0.value)), ("inline", .bool(true))])
        }
        return .object([
            ("content", .string(event.headline)),
            (
                "embeds",
                .array([
                    .object([
                        ("title", .string("\(event.route): \(event.phase)")), ("description", .string(event.message)),
                        ("color", .int(colour(event.severity))), ("fields", .array(fields)),
                        ("timestamp", .string(isoTimestamp(event.unixTime))),
                    ])
                ])
            ),
            ("allowed_mentions", .object([("parse", .array([]))])),
        ])
    }

    /// Flagger's event webhook payload (`name`, `namespace`, `phase`, `metadata` with `eventMessage`, `eventType`
    /// and `timestamp` in unix milliseconds as a string), so receivers written for Flagger read it; then
    /// Canarygate's own fields.
    static func webhook(_ event: AlertEvent) -> AlertJSON {
        var members: [(String, AlertJSON)] = [
            ("name", .string(event.route)), ("namespace", .string(event.namespace)), ("phase", .string(event.phase)),
            (
                "metadata",
                .object([
                    ("eventMessage", .string(event.message)), ("eventType", .string(event.severity == .info ? "Normal" : "Warning")),
                    ("timestamp", .string(String(Int64((event.unixTime * 1000).rounded(.down))))),
                ])
            ),
            ("severity", .string(event.severity.rawValue)), ("revision", .string(event.revision)), ("weight", .int(event.weight)),
        ]
        if let replica = event.replica { members.append(("replica", .string(replica))) }
        return .object(members)
    }

    /// `2026-12-06T16:02:21.123Z`: RFC 3339 in UTC with milliseconds, as Discord's `timestamp` takes it.
    package static func isoTimestamp(_ unixTime: Double) -> String {
        let millis = Int64((unixTime * 1000).rounded(.down))
        let (days, dayMillis) = millis.quotientAndRemainder(dividingBy: 86_400_000)
        let date = CivilDate(daysSinceEpoch: dayMillis < 0 ? days - 1 : days)
        let (y, m, d) = (date.year, date.month, date.day)
        let ms = dayMillis < 0 ? dayMillis + 86_400_000 : dayMillis
        func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let fraction = String(ms % 1000)
        return "\(y)-\(two(m))-\(two(d))T\(two(ms / 3_600_000)):\(two(ms / 60_000 % 60)):\(two(ms / 1000 % 60))."
            + String(repeating: "0", count: 3 - fraction.count) + fraction + "Z"
    }
}
