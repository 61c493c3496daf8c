// A Python script from this Support directory run as a child process on a free loopback port, ready once it says so.
import Foundation

/// What the script-backed upstreams share: a free 127.0.0.1 port, `/usr/bin/python3 SCRIPT ARGUMENTS…` started
/// with its output in a temp dir, a bounded wait for the output to begin with `ready`, and a stop that kills,
/// reaps and cleans up. The script takes the port from its arguments (`arguments(port)`).
final class ScriptUpstream {
    let port: UInt16
    private let child: ChildProcess
    private let dir: TempDir

    var endpoint: String { "127.0.0.1:\(port)" }

    /// What the script printed so far (after its `ready` line: whatever it reports).
    var printed: String { (try? String(contentsOf: dir.url.appendingPathComponent("out"), encoding: .utf8)) ?? "" }

    /// Starts `script` (a file next to this one) and waits at most 10 s for `ready`; throws with what the
    /// script printed when it exits or the bound passes first, leaving nothing behind.
    init(_ script: String, arguments: (UInt16) -> [String]) throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(script).path
        let dir = try TempDir.make()
        let port = try Posix.freePort()
        let log = dir.url.appendingPathComponent("out").path
        let child = try ChildProcess(path: H2Tools.python, arguments: [path] + arguments(port), stdoutPath: log)
        let printed = { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
        _ = Posix.waitUntil(timeout: 10) { printed().hasPrefix("ready") || !child.isRunning }
        guard printed().hasPrefix("ready") else {
            child.terminate(grace: 0)
            dir.remove()
            throw ProxyError.badStatus(-1, "\(script) did not start: \(printed())")
        }
        self.port = port
        self.child = child
        self.dir = dir
    }

    /// SIGTERM, SIGKILL after 1 s; reaped, and the temp dir removed. Safe to call more than once.
    func stop() {
        child.terminate(grace: 1)
        dir.remove()
    }
}
