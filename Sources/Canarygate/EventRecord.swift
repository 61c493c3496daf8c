// One entry of the controller's event log, with when it happened and how much it matters.
import Rollout

/// What /status lists (`line`), what the timeline marks on its charts and what notifications send. `sequence`
/// numbers entries from 1 in the order recorded, so a view that has seen entry N asks only for those after it.
struct EventRecord: Sendable, Equatable {
    let sequence: Int
    let unixTime: Double
    /// nil for the process's own events (fleet changes), not a route's.
    let route: String?
    let severity: EventSeverity
    /// As the log and /status show it: "ROUTE: PHASE weight=W message".
    let line: String
}
