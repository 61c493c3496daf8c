// What GET /events sends: the /status and /timeline documents as SSE messages, and the streams' counters in /metrics.
import Config
import Synchronization
import Telemetry

/// The documents of the stream, rendered on the admin thread when a stream opens and once a second.
protocol EventStreamFeed {
    /// The admin section in force: its tokens, which each stream's credential is checked against before a push.
    func admin() -> AdminConfig
    /// The /status document.
    func status() -> String
    /// The /timeline document after `since` (nil: all of it), and the time it is complete to: the `since` of
    /// the next call, so that no sample or event is sent twice or skipped.
    func timeline(since: Double?) -> (json: String, now: Double)
    /// The snapshot's timeline: the whole event log but only the last few minutes of samples, and the `since` of
    /// the first update.
    func snapshotTimeline() -> (json: String, now: Double)
}

enum EventStreamFeedMessage: String {
    /// The first message of a stream: the event log and the recent samples (EventStreamFeed.snapshotTimeline).
    case snapshot
    /// The later ones: the timeline since the message before.
    case update

    /// This message, the event named for it, with `status` and `timeline` (both JSON documents).
    func bytes(status: String, timeline: String) -> [UInt8] {
        EventStreamFrame.message(event: rawValue, data: "{\"status\":\(status),\"timeline\":\(timeline)}")
    }
}

/// Written by the admin loop, read by /metrics (also on the admin thread, but the loop's state is not the server's).
final class EventStreamCounters: Sendable {
    enum DropReason: String, CaseIterable {
        /// More than `EventStreamOutbox.limit` bytes of updates waited for the client.
        case slow
        /// More than `EventStreamRoster.limit` streams: the oldest made room.
        case excess
    }

    let open = Atomic<Int>(0)
    private let slow = Atomic<UInt64>(0)
    private let excess = Atomic<UInt64>(0)

    func dropped(_ reason: DropReason) {
        switch reason {
        case .slow: slow.add(1, ordering: .relaxed)
        case .excess: excess.add(1, ordering: .relaxed)
        }
    }

    func render(into writer: inout PrometheusWriter) {
        writer.family("canarygate_admin_event_streams", type: .gauge, help: "Open GET /events streams of the admin API.")
        writer.sample("canarygate_admin_event_streams", [], UInt64(open.load(ordering: .relaxed)))
        writer.family(
            "canarygate_admin_event_streams_dropped_total", type: .counter,
            help: "Event streams closed by the admin API: slow (too many bytes unsent) or excess (the oldest, past 16).")
        writer.sample("canarygate_admin_event_streams_dropped_total", [("reason", "slow")], slow.load(ordering: .relaxed))
        writer.sample("canarygate_admin_event_streams_dropped_total", [("reason", "excess")], excess.load(ordering: .relaxed))
    }
}
