// The canarygate binary under test: located, configured in a temp dir, spawned, awaited, measured, stopped.
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

enum ProxyError: Error, CustomStringConvertible {
    case binaryNotFound([String])
    case exitedEarly(status: Int32, log: String)
    case notReady(log: String)
    case badStatus(Int, String)

    var description: String {
        switch self {
        case .binaryNotFound(let tried):
            return "canarygate binary not found (set CANARYGATE_BIN); tried: \(tried.joined(separator: ", "))"
        case .exitedEarly(let status, let log): return "canarygate exited (status \(status)) before ready:\n\(log)"
        case .notReady(let log): return "canarygate not accepting connections within the bound:\n\(log)"
        case .badStatus(let code, let body): return "GET /status: \(code) \(body)"
        }
    }
}

enum CanarygateBinary {
    /// `CANARYGATE_BIN`, else `canarygate` next to the running test executable (SwiftPM puts both in
    /// `.build/<triple>/debug/`), else the package's `.build/debug/canarygate`.
    static func path() throws -> String {
        var tried: [String] = []
        if let env = ProcessInfo.processInfo.environment["CANARYGATE_BIN"], !env.isEmpty {
            if FileManager.default.isExecutableFile(atPath: env) { return env }
            tried.append(env)
        }
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            let candidate = URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("canarygate").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            tried.append(candidate)
        }
        // <package>/Tests/IntegrationTests/Support/ProxyProcess.swift → <package>/.build/debug/canarygate
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let candidate = packageRoot.appendingPathComponent(".build/debug/canarygate").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        tried.append(candidate)
        throw ProxyError.binaryNotFound(tried)
    }

    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs the binary to completion (bounded: killed after `timeout`), capturing its output.
    static func run(_ arguments: [String], timeout: Double = 20) throws -> Outcome {
        let dir = try TempDir.make()
        defer { dir.remove() }
        let out = dir.url.appendingPathComponent("stdout"), err = dir.url.appendingPathComponent("stderr")
        let child = try ChildProcess(path: try path(), arguments: arguments, stdoutPath: out.path, stderrPath: err.path)
        if !child.wait(timeout: timeout) { child.terminate(grace: 0) }
        return Outcome(
            status: child.terminationStatus ?? -1,
            stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
    }
}

/// A private temp directory for one proxy (config + logs).
struct TempDir {
    let url: URL

    static func make() throws -> TempDir {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("canarygate-itest-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return TempDir(url: url)
    }

    func write(_ name: String, _ text: String) throws -> URL {
        let file = url.appendingPathComponent(name)
        try text.write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

/// One running proxy. Use through `withProxy`, which stops it whatever happens.
final class ProxyProcess {
    let port: UInt16
    let adminPort: UInt16
    let dir: TempDir
    let configFile: URL
    let logFile: URL
    private let child: ChildProcess
    private var stopped = false
    /// Set when the test sent SIGTERM/SIGINT itself: the proxy is meant to exit, `withProxy` does not complain.
    private(set) var exitRequested = false

    var pid: Int32 { child.pid }
    var isRunning: Bool { child.isRunning }
    /// Exit code (128 + signal if killed by one) once it has exited.
    var exitStatus: Int32? { child.terminationStatus }

    /// Starts the proxy and waits until its listener and admin port accept connections.
    /// A bind race on the chosen ports (another socket took one) is retried with fresh ports.
    /// `fileLimit`: RLIMIT_NOFILE (soft and hard) the proxy starts with, set by prlimit before it execs.
    static func start(_ config: ProxyConfig, threads: Int? = nil, readyTimeout: Double = 5, fileLimit: Int? = nil) throws -> ProxyProcess {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try ProxyProcess(config, threads: threads, readyTimeout: readyTimeout, fileLimit: fileLimit)
            } catch ProxyError.exitedEarly(let status, let log)
                where attempt < 3 && (log.localizedCaseInsensitiveContains("in use") || log.contains("EADDRINUSE"))
            {
                _ = status
                continue
            }
        }
    }

    private init(_ config: ProxyConfig, threads: Int?, readyTimeout: Double, fileLimit: Int?) throws {
        port = try Posix.freePort()
        var admin = try Posix.freePort()
        while admin == port { admin = try Posix.freePort() }
        adminPort = admin
        dir = try TempDir.make()
        configFile = try dir.write("canarygate.yaml", config.yaml(listenPort: port, adminPort: adminPort))
        logFile = dir.url.appendingPathComponent("stderr.log")
        let arguments = ["run", "--config", configFile.path] + (threads.map { ["--threads", String($0)] } ?? [])
        if let fileLimit {
            // prlimit execs the binary: the child's PID stays the proxy's.
            child = try ChildProcess(
                path: "/usr/bin/prlimit", arguments: ["--nofile=\(fileLimit):\(fileLimit)", try CanarygateBinary.path()] + arguments,
                stdoutPath: logFile.path)
        } else {
            child = try ChildProcess(path: try CanarygateBinary.path(), arguments: arguments, stdoutPath: logFile.path)
        }

        do {
            try waitUntilReady(timeout: readyTimeout)
        } catch {
            stop()
            dir.remove()
            throw error
        }
    }

    deinit { stop() }

    private func waitUntilReady(timeout: Double) throws {
        let deadline = Date().addingTimeInterval(timeout)
        var pending = [port, adminPort]
        while !pending.isEmpty {
            if !child.isRunning {
                throw ProxyError.exitedEarly(status: child.terminationStatus ?? -1, log: log)
            }
            if Date() > deadline { throw ProxyError.notReady(log: log) }
            if let fd = try? Posix.connect(port: pending[0], timeout: 0.2) {
                close(fd)
                pending.removeFirst()
            } else {
                usleep(20_000)
            }
        }
    }

    /// SIGTERM, then SIGKILL after 2 s; always reaps. Idempotent.
    func stop() {
        if stopped { return }
        stopped = true
        child.terminate(grace: 2)
    }

    /// What the proxy wrote to stderr/stdout so far.
    var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    /// Resident set size from /proc/PID/status (VmRSS), in KiB.
    func rssKiB() -> Int? { Self.rssKiB(pid: pid) }

    /// A new client connection to the proxy's listener.
    func client(timeout: Double = RawClient.defaultTimeout) throws -> RawClient {
        try RawClient(port: port, timeout: timeout)
    }

    /// One request on a fresh connection to the listener.
    func fetch(_ request: [UInt8], method: String = "GET") throws -> ClientResponse {
        try RawClient.fetch(port: port, request, method: method)
    }

    /// `GET path` on the admin listener.
    func admin(_ path: String) throws -> ClientResponse {
        try RawClient.fetch(port: adminPort, HTTPText.request("GET", path, host: "127.0.0.1:\(adminPort)"))
    }
}

/// Runs `body` with a started proxy and stops it afterwards, whatever happens. When `body` throws,
/// the proxy's log is printed and its temp dir kept; `CANARYGATE_KEEP_LOGS=1` keeps every one.
func withProxy<T>(_ config: ProxyConfig, threads: Int? = nil, fileLimit: Int? = nil, _ body: (ProxyProcess) throws -> T) throws -> T {
    let proxy = try ProxyProcess.start(config, threads: threads, fileLimit: fileLimit)
    var keep = ProcessInfo.processInfo.environment["CANARYGATE_KEEP_LOGS"] == "1"
    defer {
        proxy.stop()
        if !keep { proxy.dir.remove() }
    }
    do {
        let result = try body(proxy)
        if !proxy.isRunning && !proxy.exitRequested {
            keep = true
            Issue.record(
                "canarygate exited during the test (status \(proxy.exitStatus.map(String.init) ?? "?")); log tail:\n\(String(proxy.log.suffix(4096)))"
            )
        }
        return result
    } catch {
        keep = true
        if !proxy.isRunning { print("canarygate exited during the test (status \(proxy.exitStatus.map(String.init) ?? "?"))") }
        print("canarygate log (\(proxy.logFile.path)), last 4 KiB:\n\(String(proxy.log.suffix(4096)))")
        throw error
    }
}

// MARK: - Signals, reloads and the admin API

extension ProxyProcess {
    /// Sends `signal` to the proxy (SIGHUP reloads; SIGTERM/SIGINT drain, and mark the exit as expected).
    func signal(_ signal: Int32) {
        if signal == SIGTERM || signal == SIGINT { exitRequested = true }
        kill(pid, signal)
    }

    /// Waits up to `timeout` seconds for the proxy to exit; its exit status, or nil if it still runs.
    func waitForExit(timeout: Double) -> Int32? {
        child.wait(timeout: timeout) ? child.terminationStatus : nil
    }

    /// Replaces the config file (atomically: a reload never reads half a file), keeping the harness's
    /// listener and admin ports. Returns the YAML written.
    @discardableResult
    func rewriteConfig(_ config: ProxyConfig) throws -> String {
        let yaml = config.yaml(listenPort: port, adminPort: adminPort)
        try writeConfig(yaml)
        return yaml
    }

    /// Replaces the config file with `text` as is.
    func writeConfig(_ text: String) throws {
        try text.write(to: configFile, atomically: true, encoding: .utf8)
    }

    /// `POST path` (empty body) on the admin listener.
    func adminPost(_ path: String) throws -> ClientResponse {
        try RawClient.fetch(
            port: adminPort, HTTPText.request("POST", path, host: "127.0.0.1:\(adminPort)", body: []),
            method: "POST")
    }

    /// `GET /status` as a JSON object.
    func status() throws -> [String: Any] {
        let response = try admin("/status")
        guard response.status == 200,
            let json = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
        else {
            throw ProxyError.badStatus(response.status, response.text)
        }
        return json
    }

    /// The `config` object of `/status`: generation, successes, failures, lastSuccessUnixTime, lastError.
    func reloadState() throws -> ReloadState { ReloadState(try status()["config"] as? [String: Any] ?? [:]) }

    /// Polls `/status` (bounded) until `done` holds for its reload state; returns the last state seen.
    @discardableResult
    func waitForReloadState(timeout: Double = 3, _ done: (ReloadState) -> Bool) throws -> ReloadState {
        let deadline = Date().addingTimeInterval(timeout)
        var state = try reloadState()
        while !done(state) && Date() < deadline {
            usleep(10_000)
            state = try reloadState()
        }
        return state
    }

    /// Sends SIGHUP and waits (bounded) until `/status` reports that reload's outcome: a generation past
    /// `generation` or one more failure than before. Then gives the loops a moment to take the new
    /// snapshot from their mailboxes (publication is asynchronous by design).
    @discardableResult
    func reloadBySignal(timeout: Double = 3) throws -> ReloadState {
        let before = try reloadState()
        signal(SIGHUP)
        let after = try waitForReloadState(timeout: timeout) {
            $0.generation > before.generation || $0.failures > before.failures
        }
        usleep(50_000)
        return after
    }
}

/// The reload history `/status` reports under `config`.
struct ReloadState: CustomStringConvertible {
    var generation: Int
    var successes: Int
    var failures: Int
    var lastSuccessUnixTime: Double
    /// nil when the JSON has `null` (or nothing).
    var lastError: String?

    init(_ json: [String: Any]) {
        generation = (json["generation"] as? NSNumber)?.intValue ?? -1
        successes = (json["successes"] as? NSNumber)?.intValue ?? -1
        failures = (json["failures"] as? NSNumber)?.intValue ?? -1
        lastSuccessUnixTime = (json["lastSuccessUnixTime"] as? NSNumber)?.doubleValue ?? -1
        lastError = json["lastError"] as? String
    }

    var description: String {
        "generation \(generation), successes \(successes), failures \(failures), lastError \(lastError.map { $0.debugDescription } ?? "null")"
    }
}
