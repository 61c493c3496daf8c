// judge_backend.py as a child process: an HTTP/1.1 arm with load-dependent latency and chosen shares of 404s,
// 500s, slow answers, hung requests and failure bursts, for the judges' end-to-end tests.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One judge_backend.py on an ephemeral 127.0.0.1 port (the script binds port 0 and prints `ready PORT`, so
/// there is no window in which another process could take a port chosen for it). Every body starts with
/// `text`, which names the arm. Stopped (SIGTERM, SIGKILL after 1 s, reaped) by `stop()` or on deinit; should
/// the test process die first, the script exits by itself (`--parent-pid`).
final class JudgeBackend {
    /// The script's options (see the comment at the top of judge_backend.py); percentages are per request.
    struct Options: Sendable {
        var baseMs = 5.0
        var perInflightMs = 3.0
        var status404Percent = 0.0
        var failPercent = 0.0
        var slowPercent = 0.0
        var slowMs = 0.0
        var hangPercent = 0.0
        var burstEvery = 0.0
        var burstLength = 0.0
        /// Bursts happen while (wall clock − offset) mod `burstEvery` < `burstLength`: two backends with the
        /// same offset burst together; `burstEvery / 2` apart puts them half a period apart.
        var burstOffset = 0.0
        var seed: Int?

        init() {}

        var arguments: [String] {
            var out = ["--base-ms", "\(baseMs)", "--per-inflight-ms", "\(perInflightMs)"]
            if status404Percent > 0 { out += ["--status-404-percent", "\(status404Percent)"] }
            if failPercent > 0 { out += ["--fail-percent", "\(failPercent)"] }
            if slowPercent > 0 { out += ["--slow-percent", "\(slowPercent)", "--slow-ms", "\(slowMs)"] }
            if hangPercent > 0 { out += ["--hang-percent", "\(hangPercent)"] }
            if burstEvery > 0 {
                out += ["--burst-every", "\(burstEvery)", "--burst-length", "\(burstLength)", "--burst-offset", "\(burstOffset)"]
            }
            if let seed { out += ["--seed", "\(seed)"] }
            return out
        }
    }

    static let python = "/usr/bin/python3"
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("judge_backend.py").path

    let text: String
    let port: UInt16
    let options: Options
    private let child: ChildProcess
    private let dir: TempDir
    private var stopped = false

    var endpoint: String { "127.0.0.1:\(port)" }

    /// Starts the script and waits (at most 10 s) for its `ready PORT` line.
    init(_ text: String, _ options: Options = Options()) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.python) else {
            throw ProxyError.badStatus(-1, "\(Self.python) is missing: apt-get install -y python3")
        }
        let dir = try TempDir.make()
        let out = dir.url.appendingPathComponent("stdout").path, err = dir.url.appendingPathComponent("stderr").path
        let child = try ChildProcess(
            path: Self.python, arguments: [Self.script, "--text", text, "--parent-pid", "\(getpid())"] + options.arguments,
            stdoutPath: out, stderrPath: err)
        let deadline = Date().addingTimeInterval(10)
        var port: UInt16?
        while port == nil {
            let printed = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
            if let line = printed.split(separator: "\n").first(where: { $0.hasPrefix("ready ") }) {
                port = UInt16(line.dropFirst("ready ".count).trimmingCharacters(in: .whitespaces))
                if port != nil { break }
            }
            guard Date() < deadline, child.isRunning else {
                let stderr = (try? String(contentsOfFile: err, encoding: .utf8)) ?? ""
                child.terminate(grace: 0)
                dir.remove()
                throw ProxyError.badStatus(-1, "judge_backend.py \(text) did not start: \(printed) \(stderr.suffix(2000))")
            }
            usleep(20_000)
        }
        self.text = text
        self.options = options
        self.dir = dir
        self.child = child
        self.port = port!
    }

    deinit { stop() }

    /// SIGTERM (Python's default action ends it at once, hung requests included), SIGKILL after 1 s; reaped.
    func stop() {
        if stopped { return }
        stopped = true
        child.terminate(grace: 1)
        dir.remove()
    }

    var isRunning: Bool { !stopped && child.isRunning }

    /// `GET /_stats`, asked of the backend directly: requests, ok, notFound, failed, burstFailed, slow, hung,
    /// hungReleased (the proxy closed the connection of a hung request), hungExpired, inflight, maxInflight.
    func stats() throws -> [String: Int] {
        let response = try RawClient.fetch(port: port, HTTPText.request("GET", "/_stats", host: endpoint), timeout: 2)
        guard response.status == 200,
            let json = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
        else {
            throw ProxyError.badStatus(response.status, response.text)
        }
        return json.compactMapValues { ($0 as? NSNumber)?.intValue }
    }

    /// `stats()` for a message: never throws.
    var statsText: String {
        guard let s = try? stats() else { return "\(text): stats unavailable" }
        return "\(text): " + s.keys.sorted().map { "\($0)=\(s[$0]!)" }.joined(separator: " ")
    }
}

extension ArmSpec {
    init(_ revision: String, _ backend: JudgeBackend) { self.init(revision, [backend.endpoint]) }
}
