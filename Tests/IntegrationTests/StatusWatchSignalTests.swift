// `canarygate status --watch` and its signals: they end it at once even while the admin API hangs, and every key a
// terminal turns into a signal (Ctrl-C, Ctrl-\, Ctrl-Z) gives the terminal back as it was.
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension Integration {
    @Suite("status --watch: signals") struct StatusWatchSignals {
        typealias Tmux = StatusWatchEndToEnd.Tmux

        /// An admin API that hangs: connections are accepted (the kernel completes them; `accept` here only tells the
        /// test that one came) and never answered. The accepted ones stay open until `close`.
        final class SilentListener {
            let fd: Int32
            let port: UInt16
            private var accepted: [Int32] = []

            init() throws { (fd, port) = try Posix.listen() }

            /// Waits up to `timeout` seconds for the next connection; whether one came.
            func acceptNext(timeout: Double) -> Bool {
                guard Posix.waitReadable(fd, timeout: timeout) else { return false }
                let client = accept(fd, nil, nil)
                guard client >= 0 else { return false }
                accepted.append(client)
                return true
            }

            func close() {
                for client in accepted + [fd] { Glibc.close(client) }
                accepted = []
            }
        }

        /// A request waiting on a silent admin API is given up after its bound (and said so), and SIGINT during the
        /// next one ends the watch within a bounded time, not after the request's timeout.
        @Test func sigintEndsTheWatchWhileTheAdminAPIHangs() throws {
            let listener = try SilentListener()
            defer { listener.close() }
            let dir = try TempDir.make()
            defer { dir.remove() }
            let output = dir.url.appendingPathComponent("watch.out")
            let watch = try ChildProcess(
                path: try CanarygateBinary.path(), arguments: ["status", "--watch", "--admin", "127.0.0.1:\(listener.port)"],
                stdoutPath: output.path)
            defer { watch.terminate(grace: 0) }
            let text = { (try? String(contentsOf: output, encoding: .utf8)) ?? "" }

            try #require(listener.acceptNext(timeout: 10), "the watch connects")
            #expect(
                Posix.waitUntil(timeout: 10) { text().contains("did not answer within 2000 ms") },
                "a request that gets no answer is given up and told:\n\(text())")
            // The next poll: connected, its request sent, waiting for an answer that never comes.
            try #require(listener.acceptNext(timeout: 10), "the watch polls again")
            let signalled = Date()
            kill(watch.pid, SIGINT)
            let ended = watch.wait(timeout: 3)
            #expect(ended, "SIGINT ended the watch within 3 s (\(Date().timeIntervalSince(signalled)) s)")
            #expect(!ended || watch.terminationStatus == 0, "it ended by itself: \(watch.terminationStatus ?? -1)")
        }

        /// In an interactive shell: Ctrl-Z gives the normal screen and cursor back and stops the watch as a job,
        /// `fg` brings the view back, Ctrl-\ ends it with the terminal restored.
        @Test func ctrlZAndCtrlBackslashGiveTheTerminalBack() throws {
            try #require(FileManager.default.isExecutableFile(atPath: Tmux.path), "tmux is needed for this test")
            let listener = try SilentListener()
            defer { listener.close() }
            let tmux = try Tmux()
            defer { tmux.kill() }
            // An interactive shell does job control: the watch is a job in its own process group, which Ctrl-Z can stop
            // (the kernel discards it for an orphaned group, such as `bash -c`'s in a pane).
            let started = try tmux.run([
                "new-session", "-d", "-x", "100", "-y", "30", "-s", tmux.session, "env", "PS1=$ ", "bash", "--norc", "--noprofile", "-i",
            ])
            try #require(started.status == 0, "tmux new-session: \(started.stderr)")
            /// The pane's screen (1: the alternate one), its cursor (1: shown) and the command in its foreground.
            func pane() throws -> String {
                try tmux.run(["display-message", "-p", "-t", tmux.session, "#{alternate_on} #{cursor_flag} #{pane_current_command}"])
                    .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            /// Polls the pane until it is `expected` or 10 s pass; what it was last.
            func waitForPane(_ expected: String) throws -> String {
                let deadline = Date().addingTimeInterval(10)
                var seen = try pane()
                while seen != expected && Date() < deadline {
                    usleep(100_000)
                    seen = try pane()
                }
                return seen
            }
            try #require(try waitForPane("0 1 bash") == "0 1 bash", "the shell runs")
            let command = "\(try CanarygateBinary.path()) status --watch --admin 127.0.0.1:\(listener.port)"
            try tmux.run(["send-keys", "-t", tmux.session, "-l", command])
            try tmux.run(["send-keys", "-t", tmux.session, "Enter"])
            try #require(try waitForPane("1 0 canarygate") == "1 0 canarygate", "the view, cursor hidden")

            try tmux.run(["send-keys", "-t", tmux.session, "C-z"])
            #expect(try waitForPane("0 1 bash") == "0 1 bash", "Ctrl-Z: the normal screen and the cursor back")
            let stopped = try tmux.capture()
            #expect(stopped.contains("Stopped"), "the shell has the watch as a stopped job:\n\(stopped)")

            try tmux.run(["send-keys", "-t", tmux.session, "-l", "fg"])
            try tmux.run(["send-keys", "-t", tmux.session, "Enter"])
            #expect(try waitForPane("1 0 canarygate") == "1 0 canarygate", "fg: the view again")
            let header = "canarygate  127.0.0.1:\(listener.port)"
            #expect(Posix.waitUntil(timeout: 10) { (try? tmux.capture())?.contains(header) == true }, "redrawn: \(header)")

            try tmux.run(["send-keys", "-t", tmux.session, "C-\\"])
            #expect(try waitForPane("0 1 bash") == "0 1 bash", "Ctrl-\\: the watch ended, the normal screen and the cursor back")
            try tmux.run(["send-keys", "-t", tmux.session, "-l", "echo watch-ended-$?"])
            try tmux.run(["send-keys", "-t", tmux.session, "Enter"])
            #expect(
                Posix.waitUntil(timeout: 5) { (try? tmux.capture())?.contains("watch-ended-0") == true },
                "it ended by itself:\n\((try? tmux.capture()) ?? "")")
        }
    }
}
