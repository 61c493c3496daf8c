// The server's documents for GET /events: /status as is, and /timeline with an overlap so no late sample is missed.
import Config

/// The timeline's `since` is the document's `now` less `overlap`: the control thread stamps a second's sample
/// with that second (`t` = S) but takes it up to a tick (100 ms) after S begins, so a document rendered at
/// S + 0.05 may lack the sample `t` = S that a later `since` = S + 0.05 would then exclude for good. Asking
/// again for the last two seconds sends a sample or an event at most a few times; the page keeps one of each
/// (samples by route and `t`, events by `seq`).
///
/// The snapshot carries the samples of the last `snapshotSeconds` only: all ten minutes of a canary route are
/// some 150 KB, sent again at every reconnect. The page has the older ones from its embedded state (or from
/// before the reconnect) and keeps them.
struct AdminEventFeed: EventStreamFeed {
    static let overlap = 2.0
    static let snapshotSeconds = 120.0

    let server: Server

    func admin() -> AdminConfig { server.state.snapshot.config.admin }

    func status() -> String { StatusDocument.render(server) }

    func timeline(since: Double?) -> (json: String, now: Double) { stamped(server.timelineJSON(since: since)) }

    func snapshotTimeline() -> (json: String, now: Double) {
        stamped(server.timelineJSON(since: nil, samplesSince: ServerState.unixTime() - Self.snapshotSeconds))
    }

    private func stamped(_ json: String) -> (json: String, now: Double) {
        let now = Self.now(in: json) ?? ServerState.unixTime()
        return (json, now - Self.overlap)
    }

    /// The `now` of a timeline document, its first field (`{"now":1765000000.0,…`).
    static func now(in json: String) -> Double? {
        let prefix = "{\"now\":"
        guard json.hasPrefix(prefix) else { return nil }
        return Double(json.dropFirst(prefix.count).prefix { $0 != "," && $0 != "}" })
    }
}
