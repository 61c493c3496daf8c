// `canarygate status --watch` when its output is not a terminal: a line per route change and per new event, no escapes.

/// Remembers what it has printed, so each poll prints only what changed.
public struct WatchPlainLog: Sendable {
    /// Each route's last printed phase and weight.
    private var shown: [String: String] = [:]
    private var lastSequence = 0
    private var lastProblem: String?

    public init() {}

    /// The lines for what changed since the previous call: a route whose phase or weight moved (each route on the
    /// first call), each event not printed yet, and a failure to reach the admin API (once while it lasts).
    public mutating func lines(_ state: WatchState, now: Double) -> [String] {
        let clock = TerminalGraphics.clock(now)
        var out: [String] = []
        if state.problem != lastProblem, let problem = state.problem { out.append("\(clock) \(TerminalLine.safe(problem))") }
        lastProblem = state.problem
        for route in state.routes {
            let summary = "\(route.phase ?? "static") weight=\(route.weight)"
            guard shown[route.name] != summary else { continue }
            shown[route.name] = summary
            let revisions = route.primaryRevision + (route.canaryRevision.map { " → \($0)" } ?? "")
            out.append(
                TerminalLine.safe("\(clock) \(route.name) \(summary) (\(revisions))\(route.message.isEmpty ? "" : ": \(route.message)")"))
        }
        for event in state.events where event.sequence > lastSequence {
            out.append(TerminalLine.safe("\(TerminalGraphics.clock(event.unixTime)) \(event.severity) \(event.line)"))
            lastSequence = event.sequence
        }
        return out
    }
}
