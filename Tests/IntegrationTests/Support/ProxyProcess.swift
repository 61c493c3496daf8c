// The canarygate binary under test: located, configured in a temp dir, spawned, awaited, measured, stopped.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

enum ProxyError: Error, CustomStringConvertible {
    case binaryNotFound([String])
    case exitedEarly(status: Int32, log: String)
    case notReady(log: String)

    var description: String {
        switch self {
        case .binaryNotFound(let tried):
            return "canarygate binary not found (set CANARYGATE_BIN); tried: \(tried.joined(separator: ", "))"
        case .exitedEarly(let status, let log): return "canarygate exited (status \(status)) before ready:\n\(log)"
        case .notReady(let log): return "canarygate not accepting connections within the bound:\n\(log)"
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
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        let outHandle = try FileHandle(forWritingTo: out), errHandle = try FileHandle(forWritingTo: err)
        defer { try? outHandle.close(); try? errHandle.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try path())
        process.arguments = arguments
        process.standardOutput = outHandle
        process.standardError = errHandle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus,
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
    private let process: Process
    private let logHandle: FileHandle
    private var stopped = false

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    /// Starts the proxy and waits until its listener and admin port accept connections.
    /// A bind race on the chosen ports (another socket took one) is retried with fresh ports.
    static func start(_ config: ProxyConfig, threads: Int? = nil, readyTimeout: Double = 5) throws -> ProxyProcess {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try ProxyProcess(config, threads: threads, readyTimeout: readyTimeout)
            } catch ProxyError.exitedEarly(let status, let log)
                where attempt < 3 && (log.localizedCaseInsensitiveContains("in use") || log.contains("EADDRINUSE")) {
                _ = status
                continue
            }
        }
    }

    private init(_ config: ProxyConfig, threads: Int?, readyTimeout: Double) throws {
        port = try Posix.freePort()
        var admin = try Posix.freePort()
        while admin == port { admin = try Posix.freePort() }
        adminPort = admin
        dir = try TempDir.make()
        configFile = try dir.write("canarygate.yaml", config.yaml(listenPort: port, adminPort: adminPort))
        logFile = dir.url.appendingPathComponent("stderr.log")
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        logHandle = try FileHandle(forWritingTo: logFile)

        process = Process()
        process.executableURL = URL(fileURLWithPath: try CanarygateBinary.path())
        process.arguments = ["run", "--config", configFile.path] + (threads.map { ["--threads", String($0)] } ?? [])
        process.standardError = logHandle
        process.standardOutput = logHandle
        process.standardInput = FileHandle.nullDevice
        try process.run()

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
            if !process.isRunning {
                process.waitUntilExit()
                throw ProxyError.exitedEarly(status: process.terminationStatus, log: log)
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
        if process.isRunning {
            kill(pid, SIGTERM)
            let deadline = Date().addingTimeInterval(2)
            while process.isRunning && Date() < deadline { usleep(10_000) }
            if process.isRunning { kill(pid, SIGKILL) }
        }
        process.waitUntilExit()
        try? logHandle.close()
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
func withProxy<T>(_ config: ProxyConfig, threads: Int? = nil, _ body: (ProxyProcess) throws -> T) throws -> T {
    let proxy = try ProxyProcess.start(config, threads: threads)
    var keep = ProcessInfo.processInfo.environment["CANARYGATE_KEEP_LOGS"] == "1"
    defer {
        proxy.stop()
        if !keep { proxy.dir.remove() }
    }
    do {
        return try body(proxy)
    } catch {
        keep = true
        print("canarygate log (\(proxy.logFile.path)), last 4 KiB:\n\(String(proxy.log.suffix(4096)))")
        throw error
    }
}
