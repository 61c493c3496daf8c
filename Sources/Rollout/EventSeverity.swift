// How much an event-log entry matters: what notifications filter on and what the views colour.

/// `info`: the rollout moves as planned (a step, a gate, a promotion). `warn`: something is wrong but the
/// rollout stands (a failed check, no data, a state held for an operator). `error`: the canary is rolled back or
/// undone, or a hook failed — someone should look now.
public enum EventSeverity: String, Sendable, Equatable, CaseIterable, Comparable {
    case info, warn, error

    public static func < (a: EventSeverity, b: EventSeverity) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}
