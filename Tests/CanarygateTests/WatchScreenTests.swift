// `status --watch` without sockets: the view fits its terminal, shows each route's state, degrades to plain lines.
import Foundation
import Testing

@testable import Canarygate

@Suite struct WatchScreenTests {
    static let status = """
        {"routes":[{"name":"web","canaryWeight":25,"primary":{"revision":"v1","endpoints":[]},"canary":{"revision":"v2","endpoints":[]},
        "rollout":{"phase":"Progressing","canaryWeight":25,"failedChecks":1,"iterations":{"done":0,"of":null},"paused":false,
        "message":"step 2 of 4","lastVerdicts":[{"judge":"request-success-rate","outcome":"pass","summary":"99.5% >= 99","evidence":{}}],
        "afterPromotion":null,"lastUndo":null},
        "evidence":{"revision":"v2","eValue":3.5,"eValueThreshold":20,"alpha":0.05,"failed":false,
        "classes":{"5xx":{"eValue":3.5,"alpha":0.02,"canary":4,"primary":1,"episodes":3},"4xx":{"eValue":1,"alpha":0.01,"canary":0,"primary":0,"episodes":3}},
        "comparisonIntervals":2,"comparisonAlphaRemaining":0.04}},
        {"name":"static","canaryWeight":0,"primary":{"revision":"s1","endpoints":[]},"canary":null,"rollout":null,"evidence":null}],
        "config":{},"events":[]}
        """

    static func sample(_ t: Int, weight: Int, p50: Double?, canary: Bool = true) -> String {
        let arm =
            "{\"rps\":10.0,\"ok\":9,\"4xx\":0,\"5xx\":1,\"failed\":0,\"abort\":0,\"p50\":\(p50.map { "\($0)" } ?? "null"),\"p99\":9.5}"
        return "{\"t\":\(t).0,\"weight\":\(weight),\"primary\":\(arm),\"canary\":\(canary ? arm : "null")}"
    }

    static func timeline(from: Int, to: Int, events: [(seq: Int, severity: String, line: String)] = []) -> String {
        let web = (from...to).map { sample($0, weight: $0 % 4 * 10, p50: Double($0 % 3 + 1)) }.joined(separator: ",")
        let plain = (from...to).map { sample($0, weight: 0, p50: 1, canary: false) }.joined(separator: ",")
        let e = events.map {
            "{\"seq\":\($0.seq),\"t\":\(1000 + $0.seq).0,\"route\":\"web\",\"severity\":\"\($0.severity)\",\"line\":\(StatusDocument.json($0.line))}"
        }
        return "{\"now\":\(to).5,\"routes\":[{\"name\":\"web\",\"samples\":[\(web)]},{\"name\":\"static\",\"samples\":[\(plain)]}],"
            + "\"events\":[\(e.joined(separator: ","))]}"
    }

    static func watched(events: [(seq: Int, severity: String, line: String)] = []) throws -> WatchState {
        var state = WatchState()
        try state.absorb(status: status)
        try state.absorb(timeline: timeline(from: 1000, to: 1059, events: events))
        return state
    }

    /// The visible text of a rendered line: its SGR escapes removed.
    static func visible(_ line: String) -> String {
        line.replacingOccurrences(of: "\u{1B}\\[[0-9;]*m", with: "", options: .regularExpression)
    }

    @Test func everyLineFitsTheTerminal() throws {
        let events = (1...30).map {
            (seq: $0, severity: $0 % 2 == 0 ? "warn" : "info", line: "web: Progressing weight=25 " + String(repeating: "x", count: $0 * 5))
        }
        let state = try Self.watched(events: events)
        for (width, height) in [(140, 45), (80, 24), (40, 10), (10, 3), (1, 1)] {
            let lines = WatchScreen.render(state, target: "127.0.0.1:9901", now: 1060, width: width, height: height)
            #expect(lines.count <= height, "\(width)x\(height): \(lines.count) lines")
            for line in lines { #expect(Self.visible(line).count <= width, "\(width)x\(height): \(Self.visible(line))") }
        }
        #expect(WatchScreen.render(state, target: "a", now: 1060, width: 0, height: 10).isEmpty)
    }

    @Test func aRouteShowsItsPhaseWeightArmsEvidenceAndVerdicts() throws {
        let lines = WatchScreen.render(try Self.watched(), target: "127.0.0.1:9901", now: 1060, width: 200, height: 45, color: false)
        let text = lines.joined(separator: "\n")
        #expect(lines.allSatisfy { !$0.contains("\u{1B}") }, "no escapes without colour")
        let title = try #require(lines.first { $0.hasPrefix("web ") })
        #expect(title.contains("Progressing") && title.contains(" 25% █████░░░░░░░░░░░░░░░") && title.contains("v1 → v2"), "\(title)")
        #expect(title.contains("failed checks 1"), "\(title)")
        // The weight's history: 0, 10, 20, 30 repeating, on the scale of 0 to 100.
        #expect(title.contains("▁▂▂▃▁▂▂▃"), "\(title)")
        let canary = try #require(lines.first { $0.hasPrefix("  canary") })
        #expect(canary.contains("10.0 rps") && canary.contains("10s: ok 90") && canary.contains("5xx 10"), "\(canary)")
        #expect(canary.contains("p50 1ms") && canary.contains("p99 9.5ms"), "\(canary)")
        #expect(text.contains("evidence  e=3.5 of 20 (α 0.05)  5xx e=3.5 of 50  comparison α left 0.04"), "\(text)")
        #expect(text.contains("  verdict  request-success-rate pass: 99.5% >= 99"), "\(text)")
        #expect(text.contains("step 2 of 4"), "\(text)")
        let plain = try #require(lines.first { $0.hasPrefix("static ") })
        #expect(plain.contains("static") && plain.contains("  0% "), "\(plain)")
        #expect(!text.contains("  canary  s1"), "a route without canary has no canary line")
    }

    /// Revisions are as long as a release and a commit: shown whole where the line has room, both arms' columns
    /// aligned, and cut by the room left (never below 8 columns) where it has not.
    @Test func revisionsAreCutByTheRoomTheLineLeaves() throws {
        let primary = "v1.4.2-6f3a9c1d", canary = "v1.5.0-rc.1-8e4b2a07c"
        var state = WatchState()
        try state.absorb(
            status: Self.status.replacingOccurrences(of: "\"revision\":\"v1\"", with: "\"revision\":\"\(primary)\"")
                .replacingOccurrences(of: "\"revision\":\"v2\"", with: "\"revision\":\"\(canary)\""))
        try state.absorb(timeline: Self.timeline(from: 1000, to: 1059))
        func arms(width: Int) throws -> (primary: String, canary: String) {
            let lines = WatchScreen.render(state, target: "t", now: 1060, width: width, height: 45, color: false)
            return (try #require(lines.first { $0.hasPrefix("  primary") }), try #require(lines.first { $0.hasPrefix("  canary") }))
        }
        let wide = try arms(width: 140)
        #expect(wide.primary.hasPrefix("  primary \(primary)") && wide.canary.hasPrefix("  canary  \(canary)"), "\(wide)")
        let rps = { (line: String) in line.range(of: " rps")?.lowerBound.utf16Offset(in: line) }
        #expect(rps(wide.primary) != nil && rps(wide.primary) == rps(wide.canary), "both arms' figures line up:\n\(wide)")
        #expect(wide.canary.contains("▁") || wide.canary.contains("█"), "the sparklines keep their room: \(wide.canary)")

        // 130 columns leave 15 for the revision beside two 10-column sparklines.
        let narrower = try arms(width: 130)
        #expect(
            narrower.canary.hasPrefix("  canary  v1.5.0-rc.1-8e… ") && narrower.primary.hasPrefix("  primary \(primary) "), "\(narrower)")
        #expect(narrower.canary.count <= 130, "\(narrower.canary)")
        let narrow = try arms(width: 80)
        #expect(narrow.canary.hasPrefix("  canary  v1.5.0-… ") && narrow.primary.hasPrefix("  primary v1.4.2-… "), "\(narrow)")
    }

    @Test func eventsAreColouredBySeverityAndTheLastOnesShown() throws {
        let state = try Self.watched(events: [
            (1, "info", "web: Progressing weight=25 stepped"), (2, "warn", "web: failed check 1/2"), (3, "error", "web: rolled back"),
        ])
        let lines = WatchScreen.render(state, target: "t", now: 1060, width: 120, height: 40)
        let error = try #require(lines.first { $0.contains("rolled back") })
        #expect(error.contains("\u{1B}[31merror"), "\(error)")
        let warn = try #require(lines.first { $0.contains("failed check 1/2") })
        #expect(warn.contains("\u{1B}[33mwarn"), "\(warn)")
        let indices = ["stepped", "failed check 1/2", "rolled back"].map { word in lines.firstIndex { $0.contains(word) } ?? -1 }
        #expect(indices == indices.sorted() && !indices.contains(-1), "newest last: \(indices)")
        // A short terminal keeps the newest.
        let short = WatchScreen.render(state, target: "t", now: 1060, width: 120, height: 15, color: false)
        #expect(short.count == 15)
        #expect(short.last?.contains("rolled back") == true && !short.contains { $0.contains("stepped") }, "\(short)")
    }

    @Test func controlCharactersFromTheServerNeverReachTheTerminal() throws {
        let state = try Self.watched(events: [(1, "error", "web: hook said \u{1B}[2J\u{1B}]0;owned\u{07} bye")])
        let lines = WatchScreen.render(state, target: "t", now: 1060, width: 200, height: 40, color: false)
        #expect(lines.allSatisfy { !$0.contains("\u{1B}") && !$0.contains("\u{07}") }, "\(lines)")
        let hook = try #require(lines.first { $0.hasPrefix("  hook") })
        #expect(hook.contains("hook said  [2J ]0;owned  bye"), "\(hook)")
    }

    @Test func doubleWidthCharactersAreCutByColumns() {
        let line = TerminalLine("ab漢字🙂cd")
        #expect(line.rendered(width: 4, color: false) == "ab漢", "a wide character takes two columns")
        #expect(line.rendered(width: 5, color: false) == "ab漢", "never half of one")
        #expect(line.rendered(width: 8, color: false) == "ab漢字🙂")
        #expect(line.rendered(width: 20, color: false) == "ab漢字🙂cd")
        #expect(TerminalLine("α ≥ → █").rendered(width: 7, color: false) == "α ≥ → █")
    }

    @Test func theStateKeepsEachSampleAndEventOnce() throws {
        var state = try Self.watched(events: [(1, "info", "a"), (2, "warn", "b")])
        #expect(state.since == 1059)
        // An overlapping answer adds only what is new.
        try state.absorb(timeline: Self.timeline(from: 1050, to: 1061, events: [(2, "warn", "b"), (3, "error", "c")]))
        #expect(state.samples(of: "web").map(\.t) == (1000...1061).map(Double.init))
        #expect(state.events.map(\.sequence) == [1, 2, 3])
        #expect(state.since == 1061)
        let canary = try #require(state.samples(of: "web").last?.canary)
        #expect(canary.ok == 9 && canary.serverErrors == 1 && canary.p99 == 9.5)
        #expect(state.samples(of: "static").last?.canary == nil)
    }

    /// The watcher reads back exactly what the server's timeline document writes.
    @Test func theStateReadsTheServersDocument() throws {
        let arm = TimelineArmSample(rps: 120.25, ok: 118, clientErrors: 1, serverErrors: 2, failed: 1, abort: 3, p50: 1.805, p99: nil)
        let samples = [
            TimelineSample(t: 1000, weight: 25, primary: arm, canary: nil),
            TimelineSample(t: 1001, weight: 30, primary: arm, canary: arm),
        ]
        let event = EventRecord(sequence: 7, unixTime: 1000.5, route: "web", severity: .error, line: "web: rolled back")
        var state = WatchState()
        try state.absorb(timeline: TimelineDocument.render(now: 1001.5, routes: [("web", samples)], events: [event], since: nil))
        #expect(state.samples(of: "web") == samples)
        #expect(state.events == [WatchEvent(sequence: 7, unixTime: 1000.5, route: "web", severity: "error", line: "web: rolled back")])
    }

    @Test func theStateIsBoundedAndForgetsRemovedRoutes() throws {
        var state = WatchState()
        for start in stride(from: 0, to: 700, by: 100) { try state.absorb(timeline: Self.timeline(from: start, to: start + 99)) }
        #expect(state.samples(of: "web").count == WatchState.capacity)
        #expect(state.samples(of: "web").first?.t == 100)
        try state.absorb(timeline: "{\"now\":1.0,\"routes\":[{\"name\":\"web\",\"samples\":[]}],\"events\":[]}")
        #expect(state.samples(of: "static").isEmpty)
        #expect(state.samples(of: "web").count == WatchState.capacity)
        #expect(throws: WatchState.Unreadable.self) { try state.absorb(timeline: "not json") }
    }

    @Test func withoutATerminalEachChangeIsOnePlainLine() throws {
        var state = try Self.watched(events: [(1, "info", "web: Progressing weight=25 stepped")])
        var log = WatchPlainLog()
        let first = log.lines(state, now: 1060)
        #expect(first.count == 3, "\(first)")
        #expect(first.contains("00:17:40 web Progressing weight=25 (v1 → v2): step 2 of 4"), "\(first)")
        #expect(first.contains("00:17:40 static static weight=0 (s1)"), "\(first)")
        #expect(first.contains("00:16:41 info web: Progressing weight=25 stepped"), "\(first)")
        #expect(log.lines(state, now: 1061).isEmpty, "nothing changed")
        try state.absorb(
            status: Self.status.replacingOccurrences(of: "\"canaryWeight\":25,\"primary\"", with: "\"canaryWeight\":50,\"primary\""))
        try state.absorb(timeline: Self.timeline(from: 1060, to: 1060, events: [(2, "warn", "web: failed check")]))
        state.problem = "cannot reach the admin API"
        let next = log.lines(state, now: 1062)
        #expect(
            next == [
                "00:17:42 cannot reach the admin API", "00:17:42 web Progressing weight=50 (v1 → v2): step 2 of 4",
                "00:16:42 warn web: failed check",
            ])
        #expect(log.lines(state, now: 1063).isEmpty, "a lasting problem is told once")
        #expect(next.allSatisfy { !$0.contains("\u{1B}") })
    }

    @Test func sparklinesAndBarsScale() {
        #expect(TerminalGraphics.sparkline([0, 5, 10, nil], width: 10) == "▁▅█ ")
        #expect(TerminalGraphics.sparkline([1, 2, 3, 4], width: 2) == "▆█", "the last values")
        #expect(TerminalGraphics.sparkline([0, 0], width: 4) == "▁▁")
        #expect(TerminalGraphics.sparkline([25, 50, 100, 150], width: 4, top: 100) == "▃▅██", "on a fixed scale, clipped")
        #expect(TerminalGraphics.bar(percent: 25, width: 20) == "█████░░░░░░░░░░░░░░░")
        #expect(TerminalGraphics.bar(percent: 100, width: 4) == "████")
        #expect(
            TerminalGraphics.latency(0.42) == "0.42ms" && TerminalGraphics.latency(1250) == "1.25s" && TerminalGraphics.latency(nil) == "-")
    }
}
