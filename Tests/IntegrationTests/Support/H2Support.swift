// HTTP/2 test support: the h2client.py runner and its JSON, HAProxy as a reference h2 server, the h2 test upstream.
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The external programs the HTTP/2 tests drive, and the Debian package of each (installed by `.ci/run`).
enum H2Tools {
    /// Always the system interpreter: Debian's python3-h2 is installed for it, not for a pyenv python on PATH.
    static let python = "/usr/bin/python3"
    static let curl = "/usr/bin/curl"
    static let nghttp = "/usr/bin/nghttp"
    static let h2load = "/usr/bin/h2load"
    static let openssl = "/usr/bin/openssl"
    static let haproxy = "/usr/sbin/haproxy"

    /// `Support/h2client.py`, next to this file.
    static let clientScript = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("h2client.py").path

    struct Missing: Error, CustomStringConvertible {
        var description: String
    }

    /// Throws (failing the test with the package to install) unless `path` is executable.
    static func require(_ path: String, package: String) throws {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw Missing(description: "\(path) is missing: apt-get install -y \(package) (as .ci/run does)")
        }
    }

    /// python3 with the h2 module.
    static func requirePythonH2() throws {
        try require(python, package: "python3")
        let probe = try ChildProcess.run(python, ["-c", "import h2, hpack, hyperframe"], timeout: 10)
        guard probe.status == 0 else {
            throw Missing(description: "\(python) cannot import h2 (\(probe.stderr.suffix(300))): apt-get install -y python3-h2")
        }
    }

    /// A self-signed certificate for localhost (`makeTestCertificate`), its key, and both in one PEM
    /// file (HAProxy's `crt` wants them together).
    static func makeCertificate(in dir: TempDir) throws -> (certificate: String, privateKey: String, combined: String) {
        let (cert, key) = try makeTestCertificate("localhost", in: dir)
        let combined = try dir.write(
            "h2-combined.pem",
            try String(contentsOfFile: cert, encoding: .utf8) + String(contentsOfFile: key, encoding: .utf8))
        return (cert, key, combined.path)
    }
}

// MARK: - h2client.py

/// One stream as h2client.py reports it.
struct H2Stream: CustomStringConvertible {
    var label: String
    var streamID: Int
    var status: Int?
    var headers: [HTTPField]
    var bodyBytes: Int
    /// The first 4 KiB of the body, as UTF-8 (with replacement characters).
    var body: String
    /// The whole body equals the first `bodyBytes` bytes of `BodyPattern`.
    var patternIntact: Bool
    var ended: Bool
    /// The error code name of a RST_STREAM from the server (`REFUSED_STREAM`, `CANCEL`, …).
    var resetByServer: String?
    var resetByClient: String?

    init(_ json: [String: Any]) {
        label = json["label"] as? String ?? "?"
        streamID = (json["streamId"] as? NSNumber)?.intValue ?? -1
        status = (json["status"] as? NSNumber)?.intValue
        headers = (json["headers"] as? [[String]] ?? []).compactMap { $0.count == 2 ? HTTPField($0[0], $0[1]) : nil }
        bodyBytes = (json["bodyBytes"] as? NSNumber)?.intValue ?? -1
        body = json["body"] as? String ?? ""
        patternIntact = json["patternIntact"] as? Bool ?? false
        ended = json["ended"] as? Bool ?? false
        resetByServer = json["resetByServer"] as? String
        resetByClient = json["resetByClient"] as? String
    }

    /// Completed with this status and the whole body received.
    func succeeded(_ expected: Int = 200) -> Bool { status == expected && ended && resetByServer == nil }

    var description: String {
        "\(label)#\(streamID) status \(status.map(String.init) ?? "none") ended \(ended) reset \(resetByServer ?? resetByClient ?? "no")"
            + " body \(bodyBytes) B" + (patternIntact ? " (pattern intact)" : " \(String(body.prefix(80)).debugDescription)")
    }
}

/// What one h2client.py run printed: its JSON line, parsed, with the raw output for failure messages.
struct H2Run: CustomStringConvertible {
    var exitStatus: Int32
    var json: [String: Any]
    var stdout: String
    var stderr: String

    init(exitStatus: Int32, stdout: String, stderr: String) {
        self.exitStatus = exitStatus
        self.stdout = stdout
        self.stderr = stderr
        let line = stdout.split(separator: "\n").last.map(String.init) ?? ""
        json = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] ?? [:]
    }

    /// Exit 0 and `"ok": true`: the scenario ran to its end without a protocol surprise.
    var ok: Bool { exitStatus == 0 && json["ok"] as? Bool == true }
    var error: String? { json["error"] as? String }
    var streams: [H2Stream] { (json["streams"] as? [[String: Any]] ?? []).map(H2Stream.init) }
    func stream(_ label: String) -> H2Stream? { streams.first { $0.label == label } }
    func object(_ key: String) -> H2Stream? { (json[key] as? [String: Any]).map(H2Stream.init) }
    func int(_ key: String) -> Int? { (json[key] as? NSNumber)?.intValue }
    func double(_ key: String) -> Double? { (json[key] as? NSNumber)?.doubleValue }
    var goaways: [(lastStreamID: Int, error: String)] {
        (json["goaways"] as? [[String: Any]] ?? []).map {
            (($0["lastStreamId"] as? NSNumber)?.intValue ?? -1, $0["error"] as? String ?? "?")
        }
    }
    var peerClosed: Bool { json["peerClosed"] as? Bool ?? false }
    /// The server's SETTINGS by name (`MAX_CONCURRENT_STREAMS`, `INITIAL_WINDOW_SIZE`, …).
    var serverSettings: [String: Int] {
        (json["serverSettings"] as? [String: Any] ?? [:]).compactMapValues { ($0 as? NSNumber)?.intValue }
    }

    var description: String {
        var text = "h2client exit \(exitStatus)"
        if let error { text += ", error: \(error)" }
        text += "\nstreams:\n" + streams.map { "  \($0)" }.joined(separator: "\n")
        text += "\ngoaways: \(goaways), peerClosed: \(peerClosed)"
        text += "\nstdout (last 3 KiB): \(stdout.suffix(3072))"
        if !stderr.isEmpty { text += "\nstderr (last 2 KiB): \(stderr.suffix(2048))" }
        return text
    }
}

/// Runs `Support/h2client.py`: to completion (`run`), or in the background (`start`) while the test
/// acts on the server (e.g. signals a drain), then `finish`.
final class H2Client {
    private let child: ChildProcess
    private let dir: TempDir
    private let timeout: Double

    /// The arguments for `scenario` against 127.0.0.1:`port` (TLS with ALPN h2 when `tls`).
    static func arguments(_ scenario: String, port: UInt16, tls: Bool, _ extra: [String]) -> [String] {
        [H2Tools.clientScript, scenario, "--port", String(port)] + (tls ? ["--tls"] : []) + extra
    }

    /// Starts the client; `timeout` bounds the whole run (the script's own deadline is `--timeout`, 30 s by default).
    init(_ scenario: String, port: UInt16, tls: Bool = false, _ extra: [String] = [], timeout: Double = 60) throws {
        try H2Tools.requirePythonH2()
        dir = try TempDir.make()
        self.timeout = timeout
        child = try ChildProcess(
            path: H2Tools.python, arguments: Self.arguments(scenario, port: port, tls: tls, extra),
            stdoutPath: dir.url.appendingPathComponent("stdout").path,
            stderrPath: dir.url.appendingPathComponent("stderr").path)
    }

    deinit { child.terminate(grace: 0); dir.remove() }

    /// Sends `signal` to the client (the `abandon` scenario waits for SIGUSR1).
    func signal(_ signal: Int32) { kill(child.pid, signal) }

    /// Waits (bounded) for the client to exit and parses what it printed.
    func finish() -> H2Run {
        if !child.wait(timeout: timeout) { child.terminate(grace: 0) }
        let read = { (name: String) in (try? String(contentsOf: self.dir.url.appendingPathComponent(name), encoding: .utf8)) ?? "" }
        return H2Run(exitStatus: child.terminationStatus ?? -1, stdout: read("stdout"), stderr: read("stderr"))
    }

    /// Runs `scenario` to completion.
    static func run(
        _ scenario: String, port: UInt16, tls: Bool = false, _ extra: [String] = [],
        timeout: Double = 60
    ) throws -> H2Run {
        try H2Client(scenario, port: port, tls: tls, extra, timeout: timeout).finish()
    }
}

// MARK: - The upstream behind every h2 test

enum H2Upstream {
    /// `/big?bytes=N[&chunked=1]`: N bytes of `BodyPattern` (Content-Length, or chunked);
    /// `/slow`: "slow done" after 1 s; `/upload`, `/hold`: "received" once the whole body is read;
    /// anything else: "ok METHOD TARGET". Every request is recorded with its body count and pattern check.
    static func make(name: String = "h2-upstream") throws -> TestUpstream {
        try TestUpstream(name: name) { request in
            let query = Self.query(request.target)
            switch request.path {
            case "/big":
                let count = Int(query["bytes"] ?? "") ?? 1 << 20
                return .respond(UpstreamResponse(body: .pattern(count: count, chunked: query["chunked"] == "1")))
            case "/slow":
                return .respond(UpstreamResponse(body: .fixed("slow done".bytes), delay: 1))
            case "/upload", "/hold":
                return .text("received")
            default:
                return .text("ok \(request.method) \(request.target)")
            }
        }
    }

    static func query(_ target: String) -> [String: String] {
        guard let q = target.split(separator: "?", maxSplits: 1).dropFirst().first else { return [:] }
        var out: [String: String] = [:]
        for pair in q.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1).map(String.init)
            out[kv[0]] = kv.count > 1 ? kv[1] : ""
        }
        return out
    }
}

// MARK: - The h2 server under test: canarygate, or HAProxy as the reference

/// Which server an edge-case test runs against. HAProxy 2.6 (a mature h2 implementation) answers the
/// same scenarios, so a scenario that passes against it and fails against canarygate is canarygate's bug.
enum H2Server: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case canarygate
    case haproxy

    var testDescription: String { rawValue }
}

/// HAProxy in front of a TestUpstream: `bind … proto h2` (h2c prior knowledge) and `bind … ssl alpn
/// h2,http/1.1`, configured like the spec'd proxy (100 streams, 64 KiB window, X-Forwarded-*, 431
/// past 8 KiB of header fields, `/broken` to a closed port) and `hard-stop-after 2s` so a soft stop
/// (SIGUSR1) ends its connections.
final class HAProxyProcess {
    let h2cPort: UInt16
    let tlsPort: UInt16
    let dir: TempDir
    let logFile: URL
    private let child: ChildProcess

    init(upstream: TestUpstream, brokenPort: UInt16, combinedPEM: String) throws {
        try H2Tools.require(H2Tools.haproxy, package: "haproxy")
        h2cPort = try Posix.freePort()
        var tls = try Posix.freePort()
        while tls == h2cPort { tls = try Posix.freePort() }
        tlsPort = tls
        dir = try TempDir.make()
        logFile = dir.url.appendingPathComponent("haproxy.log")
        let config = """
            global
              maxconn 2000
              tune.h2.max-concurrent-streams 100
              tune.h2.initial-window-size 65536
              tune.bufsize 32768
              hard-stop-after 2s
            defaults
              mode http
              timeout connect 2s
              timeout client 10s
              timeout server 10s
              retries 0
              option forwardfor
            frontend fe
              bind 127.0.0.1:\(h2cPort) proto h2
              bind 127.0.0.1:\(tlsPort) ssl crt \(combinedPEM) alpn h2,http/1.1
              http-request set-header x-forwarded-proto https if { ssl_fc }
              http-request set-header x-forwarded-proto http if !{ ssl_fc }
              http-request return status 431 content-type text/plain string "header list too large" if { req.hdrs,length gt 8192 }
              use_backend broken if { path_beg /broken }
              default_backend up
            backend up
              server s1 \(upstream.endpoint)
            backend broken
              server s1 127.0.0.1:\(brokenPort)

            """
        let file = try dir.write("haproxy.cfg", config)
        child = try ChildProcess(path: H2Tools.haproxy, arguments: ["-db", "-f", file.path], stdoutPath: logFile.path)
        let deadline = Date().addingTimeInterval(5)
        var pending = [h2cPort, tlsPort]
        while !pending.isEmpty {
            guard child.isRunning, Date() < deadline else {
                stop()
                throw ProxyError.notReady(log: "haproxy: \(log)")
            }
            if let fd = try? Posix.connect(port: pending[0], timeout: 0.2) {
                close(fd)
                pending.removeFirst()
            } else {
                usleep(20_000)
            }
        }
    }

    deinit { stop(); dir.remove() }

    var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }
    var isRunning: Bool { child.isRunning }

    /// Soft stop: HAProxy's graceful drain (GOAWAY to h2 clients, then exit).
    func softStop() { kill(child.pid, SIGUSR1) }

    func waitForExit(timeout: Double) -> Int32? { child.wait(timeout: timeout) ? child.terminationStatus : nil }

    func stop() { child.terminate(grace: 2) }
}

/// One h2 server under test, reached on `h2cPort` (cleartext, prior knowledge) and `tlsPort` (ALPN h2).
struct H2Front {
    let server: H2Server
    let h2cPort: UInt16
    let tlsPort: UInt16
    let proxy: ProxyProcess?
    let haproxy: HAProxyProcess?

    /// What a request to a closed upstream port gets: canarygate answers 502 (spec), HAProxy 503.
    var deadUpstreamStatus: Int { server == .canarygate ? 502 : 503 }

    func port(tls: Bool) -> UInt16 { tls ? tlsPort : h2cPort }

    /// Starts the graceful drain: SIGTERM for canarygate, SIGUSR1 (soft stop) for HAProxy.
    func beginDrain() {
        if let proxy { proxy.signal(SIGTERM) }
        if let haproxy { haproxy.softStop() }
    }

    func waitForExit(timeout: Double) -> Int32? {
        proxy?.waitForExit(timeout: timeout) ?? haproxy?.waitForExit(timeout: timeout)
    }

    var log: String { proxy?.log ?? haproxy?.log ?? "" }
}

/// Runs `body` against `server` in front of `upstream`: a catch-all route to it, `/broken` to a closed
/// port, a plain listener and a TLS one. canarygate gets `limits.maxHeaderBytes` 8192 (HAProxy is
/// configured to the same 8 KiB) and `threads` loops.
func withH2Front<T>(
    _ server: H2Server, upstream: TestUpstream, threads: Int = 2,
    _ body: (H2Front) throws -> T
) throws -> T {
    let dir = try TempDir.make()
    defer { dir.remove() }
    let cert = try H2Tools.makeCertificate(in: dir)
    let brokenPort = try Posix.freePort()
    switch server {
    case .canarygate:
        let tlsPort = try Posix.freePort()
        var config = ProxyConfig(
            routes: [
                RouteSpec("web", primary: ArmSpec("v1", upstream)),
                RouteSpec("broken", pathPrefix: "/broken", primary: ArmSpec("v1", ["127.0.0.1:\(brokenPort)"])),
            ], limits: ["maxHeaderBytes": 8192])
        config.extraListeners = [ListenerSpec("https", port: tlsPort, tls: (cert.certificate, cert.privateKey))]
        return try withProxy(config, threads: threads) { proxy in
            try body(H2Front(server: server, h2cPort: proxy.port, tlsPort: tlsPort, proxy: proxy, haproxy: nil))
        }
    case .haproxy:
        let haproxy = try HAProxyProcess(upstream: upstream, brokenPort: brokenPort, combinedPEM: cert.combined)
        defer { haproxy.stop() }
        do {
            return try body(H2Front(server: server, h2cPort: haproxy.h2cPort, tlsPort: haproxy.tlsPort, proxy: nil, haproxy: haproxy))
        } catch {
            print("haproxy log (\(haproxy.logFile.path)):\n\(String(haproxy.log.suffix(4096)))")
            throw error
        }
    }
}
