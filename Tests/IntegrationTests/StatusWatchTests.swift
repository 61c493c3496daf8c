// `canarygate status --watch` against a live rollout: the full-screen view in a tmux pane, and plain lines through a pipe.
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension Integration {
    @Suite("status --watch") struct StatusWatchEndToEnd {
        /// A rollout slow enough to watch: ten-point steps a second apart, under load.
        static func spec(primary: TestUpstream, canary: TestUpstream) -> RolloutSpec {
            var spec = RolloutSpec(primary: primary, canary: canary)
            spec.interval = "1s"
            spec.stepWeight = 10
            spec.maxWeight = 50
            spec.ignoreLoopbackLatencyJitter()
            return spec
        }

        /// A private tmux server (its own socket, in a temp dir of its own), killed with every session in it and its
        /// socket removed whatever happens.
        struct Tmux {
            static let path = "/usr/bin/tmux"
            let session = "canarygate-watch-\(getpid())"
            let dir: TempDir

            init() throws { dir = try TempDir.make() }

            @discardableResult
            func run(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
                let socket = dir.url.appendingPathComponent("tmux.sock").path
                return try ChildProcess.run(Self.path, ["-u", "-S", socket, "-f", "/dev/null"] + arguments, timeout: 10)
            }

            func capture(colours: Bool = false) throws -> String {
                try run(["capture-pane", "-p"] + (colours ? ["-e"] : []) + ["-t", session]).stdout
            }

            func kill() {
                _ = try? run(["kill-server"])
                dir.remove()
            }
        }

        /// The weight the view shows on the route's title line ("web  Progressing  30% ███…").
        static func shownWeight(_ screen: String) -> Int? {
            guard let title = screen.split(separator: "\n").first(where: { $0.hasPrefix("web ") }),
                let match = title.firstMatch(of: #/\s(\d+)% /#)
            else { return nil }
            return Int(match.1)
        }

        @Test func theViewFollowsTheRolloutInATmuxPaneAndCtrlCRestoresTheTerminal() throws {
            try #require(FileManager.default.isExecutableFile(atPath: Tmux.path), "tmux is needed for this test")
            let primary = try TestUpstream.arm("primary", text: "v1")
            let canary = try TestUpstream.arm("canary", text: "v2")
            defer { primary.stop(); canary.stop() }
            var spec = Self.spec(primary: primary, canary: canary)
            // Two seconds a step: eight seconds of history behind the sparklines when the view is captured.
            spec.interval = "2s"
            try withRolloutProxy(spec) { proxy in
                try withLoad(proxy.port, clients: 2, pause: 0.005) { _ in
                    let tmux = try Tmux()
                    defer { tmux.kill() }
                    let command =
                        "\(try CanarygateBinary.path()) status --watch --admin 127.0.0.1:\(proxy.adminPort); echo watch-ended; sleep 60"
                    let started = try tmux.run(["new-session", "-d", "-x", "140", "-y", "45", "-s", tmux.session, "bash", "-c", command])
                    try #require(started.status == 0, "tmux new-session: \(started.stderr)")
                    // Held at a weight of 40 or more (paused as soon as /status shows it, seconds before the next step),
                    // so the view is checked in a state that lasts, however slowly the pane is captured.
                    let (reached, met) = try proxy.waitForRollout(timeout: 30) { $0.phase == "Progressing" && $0.weight >= 40 }
                    try #require(met, "the rollout reached a weight of 40: \(reached)")
                    let pause = try proxy.verb("pause")
                    try #require(pause.status == 200, "pause: \(pause.status) \(pause.text)")
                    var screen = ""
                    let deadline = Date().addingTimeInterval(10)
                    while Date() < deadline {
                        screen = try tmux.capture()
                        if let weight = Self.shownWeight(screen), weight >= 40, screen.contains("Progressing (paused)") { break }
                        usleep(200_000)
                    }
                    #expect((Self.shownWeight(screen) ?? 0) >= 40 && screen.contains("Progressing (paused)"), "the pane:\n\(screen)")
                    let lines = screen.split(separator: "\n", omittingEmptySubsequences: false)
                    #expect(lines.first?.hasPrefix("canarygate  127.0.0.1:\(proxy.adminPort)") == true, "header: \(lines.first ?? "")")
                    #expect(lines.allSatisfy { $0.count <= 140 }, "no line wider than the pane")
                    for expected in [
                        "  primary v1", "  canary  v2", "rps", "s: ok ", "p50 ", "p99 ", "evidence  e=", "events", "info  web: ",
                    ] {
                        #expect(screen.contains(expected), "\(expected) in the pane:\n\(screen)")
                    }
                    let coloured = try tmux.capture(colours: true)
                    #expect(coloured.contains("\u{1B}["), "the view is coloured")
                    if ProcessInfo.processInfo.environment["CANARYGATE_UPDATE_SCREENSHOTS"] == "1" {
                        try Self.saveScreenshot(coloured)
                    }

                    // Ctrl-C: the watch ends by itself and the alternate screen is gone.
                    try tmux.run(["send-keys", "-t", tmux.session, "C-c"])
                    var after = ""
                    let ended = Date().addingTimeInterval(5)
                    while Date() < ended {
                        after = try tmux.capture()
                        if after.contains("watch-ended") { break }
                        usleep(100_000)
                    }
                    #expect(after.contains("watch-ended"), "the watch stopped on Ctrl-C:\n\(after)")
                    #expect(!after.contains("Ctrl-C quits"), "the normal screen is back:\n\(after)")
                }
            }
        }

        /// docs/images/status-watch.txt: the pane with its colours (`cat` it in a terminal), without its empty last rows.
        static func saveScreenshot(_ capture: String) throws {
            var lines = capture.split(separator: "\n", omittingEmptySubsequences: false)
            while let last = lines.last, last.allSatisfy(\.isWhitespace) { lines.removeLast() }
            let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            let file = root.appendingPathComponent("docs/images/status-watch.txt")
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try (lines.joined(separator: "\n") + "\n").write(to: file, atomically: true, encoding: .utf8)
        }

        /// The rollout is held at its first step (no load: too few requests to judge, so it waits there) and paused
        /// before the watch starts, so the first line it prints is that step's, however late it starts. Then, resumed
        /// under load, the steps that follow come as events, which are kept: each is printed whenever the watch polls.
        @Test func throughAPipeEachChangeIsAPlainLine() throws {
            let primary = try TestUpstream.arm("primary", text: "v1")
            let canary = try TestUpstream.arm("canary", text: "v2")
            defer { primary.stop(); canary.stop() }
            try withRolloutProxy(Self.spec(primary: primary, canary: canary)) { proxy in
                let (first, met) = try proxy.waitForRollout(timeout: 10) { $0.phase == "Progressing" && $0.weight == 10 }
                try #require(met, "the rollout's first step: \(first)")
                let pause = try proxy.verb("pause")
                try #require(pause.status == 200, "pause: \(pause.status) \(pause.text)")
                let output = proxy.dir.url.appendingPathComponent("watch.out")
                let watch = try ChildProcess(
                    path: try CanarygateBinary.path(),
                    arguments: ["status", "--watch", "--interval", "200ms", "--admin", "127.0.0.1:\(proxy.adminPort)"],
                    stdoutPath: output.path)
                defer { watch.terminate(grace: 2) }
                let read = { (try? String(contentsOf: output, encoding: .utf8)) ?? "" }
                #expect(
                    Posix.waitUntil(timeout: 10) { read().contains(" web Progressing weight=10 (v1 → v2)") }, "the held step:\n\(read())")
                let resume = try proxy.verb("resume")
                try #require(resume.status == 200, "resume: \(resume.status) \(resume.text)")
                try withLoad(proxy.port, clients: 2, pause: 0.005) { _ in
                    #expect(
                        Posix.waitUntil(timeout: 20) { read().contains(" info web: Progressing weight=20") },
                        "the next step's event:\n\(read())")
                }
                let text = read()
                let lines = text.split(separator: "\n").map(String.init)
                #expect(!text.contains("\u{1B}"), "no escapes through a pipe:\n\(text)")
                let changes = lines.filter { $0.contains(" web Progressing weight=10 (v1 → v2)") }
                #expect(changes.count == 1, "one line for the held step, however many polls saw it:\n\(text)")
                for weight in [20, 30, 40, 50] {
                    let changes = lines.filter { $0.contains(" web Progressing weight=\(weight) (v1 → v2)") }
                    #expect(changes.count <= 1, "at most one line when the weight became \(weight):\n\(text)")
                }
                for event in [" info web: Progressing weight=10", "paused by operator at weight 10%"] {
                    #expect(lines.contains { $0.contains(event) }, "the event \(event):\n\(text)")
                }
                #expect(
                    lines.allSatisfy { $0.firstMatch(of: #/^\d\d:\d\d:\d\d /#) != nil }, "every line starts with its time:\n\(text)")
                #expect(watch.terminate(grace: 2) == 0, "SIGTERM ends the watch cleanly")
            }
        }
    }
}
