// The full-screen view of `canarygate status --watch`: a pure function from what the watcher knows to the terminal's lines.
import Foundation

public enum WatchScreen {
    /// The samples the outcome classes are summed over: one second flickers, ten show what just happened.
    static let classWindow = 10

    /// At most `height` lines of at most `width` columns: a header, each route's block, then the last events
    /// (as many as fit, newest last). `color`: with SGR escapes.
    public static func render(_ state: WatchState, target: String, now: Double, width: Int, height: Int, color: Bool = true) -> [String] {
        guard width > 0, height > 0 else { return [] }
        var lines = [header(state, target: target, now: now)]
        for route in state.routes {
            lines.append(TerminalLine())
            lines += block(route, samples: state.samples(of: route.name), events: state.events, width: width)
        }
        let room = height - lines.count - 2
        if room > 0 {
            lines.append(TerminalLine())
            lines.append(TerminalLine("events", .bold))
            lines += state.events.suffix(room).map(event)
        }
        return lines.prefix(height).map { $0.rendered(width: width, color: color) }
    }

    private static func header(_ state: WatchState, target: String, now: Double) -> TerminalLine {
        var line = TerminalLine("canarygate", .bold)
        line.add("  \(target)  \(TerminalGraphics.clock(now)) UTC  Ctrl-C quits")
        if let problem = state.problem { line.add("  \(problem)", .red) }
        return line
    }

    /// A route: its phase and weight, each arm, the evidence and verdicts, and what followed a promotion.
    static func block(_ route: WatchRoute, samples: [TimelineSample], events: [WatchEvent], width: Int) -> [TerminalLine] {
        var title = TerminalLine(route.name, .bold)
        title.add("  ")
        title.add(route.phase ?? "static", phaseStyle(route.phase))
        if route.paused { title.add(" (paused)", .yellow) }
        title.add(String(format: " %3d%% ", route.weight))
        title.add(TerminalGraphics.bar(percent: route.weight, width: 20), .cyan)
        title.add("  ")
        // The weight's history fills what the bar and the revisions leave of the line.
        let revisions = "  \(route.primaryRevision)" + (route.canaryRevision.map { " → \($0)" } ?? "")
        let checks = route.failedChecks > 0 ? "  failed checks \(route.failedChecks)" : ""
        let iterations = route.iterations.map { "  iteration \($0.done)/\($0.of)" } ?? ""
        let room = width - title.plain.count - revisions.count - checks.count - iterations.count
        title.add(TerminalGraphics.sparkline(samples.map { Double($0.weight) }, width: max(4, room), top: 100), .cyan)
        title.add(revisions)
        title.add(checks, .yellow)
        title.add(iterations)
        var lines = [title]
        if !route.message.isEmpty { lines.append(TerminalLine("  " + route.message, .dim)) }
        // One revision column for both arms, so their figures line up.
        let revisionColumn = ([route.primaryRevision] + (route.canaryRevision.map { [$0] } ?? [])).map(\.count).max() ?? 0
        lines.append(arm("primary", revision: route.primaryRevision, samples.map(\.primary), width: width, revisionColumn: revisionColumn))
        if let canary = route.canaryRevision {
            lines.append(arm("canary", revision: canary, samples.compactMap(\.canary), width: width, revisionColumn: revisionColumn))
        }
        if let evidence = route.evidence { lines.append(evidenceLine(evidence)) }
        lines += route.verdicts.map(verdictLine)
        if let after = route.afterPromotion { lines.append(TerminalLine("  after promotion  " + after)) }
        if let undo = route.lastUndo { lines.append(TerminalLine("  " + undo, .yellow)) }
        for hook in events.filter({ $0.route == route.name && $0.line.localizedCaseInsensitiveContains("hook") }).suffix(2) {
            var line = TerminalLine("  hook  ")
            line.add(hook.line, severityStyle(hook.severity))
            lines.append(line)
        }
        return lines
    }

    /// The narrowest revision column, and the narrowest latency sparklines a wider revision column may leave.
    static let revisionColumnMinimum = 8
    static let sparklineMinimum = 10

    /// An arm: its rate now, its outcome classes over the last seconds, p50 and p99 now and over time. The revision
    /// takes `revisionColumn` columns (at least 8) while the line keeps room for sparklines of `sparklineMinimum`
    /// columns; a revision longer than the room is cut, its last column "…".
    static func arm(_ name: String, revision: String, _ samples: [TimelineArmSample], width: Int, revisionColumn: Int) -> TerminalLine {
        let recent = samples.suffix(classWindow)
        func sum(_ key: KeyPath<TimelineArmSample, UInt64>) -> UInt64 { recent.reduce(0) { $0 + $1[keyPath: key] } }
        let last = samples.last
        let label = "  " + name.padding(toLength: 8, withPad: " ", startingAt: 0)
        let counts = String(format: " %8.1f rps  %2ds: ok %-6llu", last?.rps ?? 0, recent.count, sum(\.ok))
        let clientErrors = String(format: "4xx %-5llu", sum(\.clientErrors))
        let serverErrors = String(format: "5xx %-5llu", sum(\.serverErrors))
        let aborts = String(format: "abort %-5llu", sum(\.abort))
        let p50 = "p50 " + TerminalGraphics.latency(last?.p50).padding(toLength: 8, withPad: " ", startingAt: 0)
        let p99 = "  p99 " + TerminalGraphics.latency(last?.p99).padding(toLength: 8, withPad: " ", startingAt: 0)
        let others = [label, counts, clientErrors, serverErrors, aborts, p50, p99].map(\.count).reduce(1, +)
        let column = max(revisionColumnMinimum, min(revisionColumn, width - others - 2 * sparklineMinimum))
        let shown = revision.count <= column ? revision : String(revision.prefix(column - 1)) + "…"

        var line = TerminalLine(label)
        line.add(shown.padding(toLength: column, withPad: " ", startingAt: 0), .dim)
        line.add(counts)
        line.add(clientErrors, sum(\.clientErrors) > 0 ? .yellow : nil)
        line.add(serverErrors, sum(\.serverErrors) > 0 ? .red : nil)
        line.add(aborts)
        let sparkWidth = min(60, max(4, (width - line.plain.count - p50.count - p99.count - 1) / 2))
        line.add(p50)
        line.add(TerminalGraphics.sparkline(samples.map(\.p50), width: sparkWidth), .green)
        line.add(p99)
        line.add(TerminalGraphics.sparkline(samples.map(\.p99), width: sparkWidth), .yellow)
        return line
    }

    /// The sequential judge's e-value against its threshold 1/α, each class's, and the comparison's α left.
    static func evidenceLine(_ e: WatchRoute.Evidence) -> TerminalLine {
        var line = TerminalLine("  evidence  ")
        let reached = e.failed || e.eValue >= e.threshold
        line.add("e=\(TerminalGraphics.figure(e.eValue)) of \(TerminalGraphics.figure(e.threshold))", reached ? .red : .green)
        line.add(" (α \(TerminalGraphics.figure(e.alpha)))")
        for c in e.classes where c.eValue > 1 {
            line.add(
                "  \(c.label) e=\(TerminalGraphics.figure(c.eValue)) of \(TerminalGraphics.figure(1 / c.alpha))",
                c.eValue >= 1 / c.alpha ? .red : nil)
        }
        if let left = e.comparisonAlphaRemaining { line.add("  comparison α left \(TerminalGraphics.figure(left))") }
        return line
    }

    static func verdictLine(_ v: WatchRoute.Verdict) -> TerminalLine {
        var line = TerminalLine("  verdict  \(v.judge) ")
        line.add(v.outcome, v.outcome == "pass" ? .green : v.outcome == "fail" ? .red : .yellow)
        if !v.summary.isEmpty { line.add(": \(v.summary)", .dim) }
        return line
    }

    static func event(_ e: WatchEvent) -> TerminalLine {
        var line = TerminalLine(TerminalGraphics.clock(e.unixTime) + " ", .dim)
        line.add(e.severity.padding(toLength: 6, withPad: " ", startingAt: 0) + e.line, severityStyle(e.severity))
        return line
    }

    static func severityStyle(_ severity: String) -> TerminalStyle? {
        switch severity {
        case "error": .red
        case "warn": .yellow
        default: nil
        }
    }

    static func phaseStyle(_ phase: String?) -> TerminalStyle? {
        switch phase {
        case "Promoted", "Succeeded": .green
        case "Failed": .red
        case "Held": .yellow
        case nil: .dim
        default: .cyan
        }
    }
}
