// A real etcd (/usr/bin/etcd) for the cluster tests: free loopback ports, a temp data dir, stop, kill -9 and restart on the same data.
import Config
import Foundation
#if canImport(Glibc)
import Glibc
#endif

enum EtcdServerError: Error, CustomStringConvertible {
    case notReady(log: String)
    case exitedEarly(status: Int32, log: String)

    var description: String {
        switch self {
        case .notReady(let log): return "etcd not ready within the bound; log tail:\n\(log.suffix(4096))"
        case .exitedEarly(let status, let log): return "etcd exited (status \(status)) before ready; log tail:\n\(log.suffix(4096))"
        }
    }
}

/// One single-member etcd cluster on 127.0.0.1, owned by a test: its client and peer ports are
/// chosen free (a bind race is retried with fresh ports), its data lives in a temp dir that `remove`
/// deletes. `kill` (SIGKILL) and `restart` (same ports, same data: the keys and revisions survive)
/// make "etcd died and came back"; `stop` is the clean SIGTERM. Use through `withEtcd`, which always
/// stops and removes it, so no etcd outlives its test.
///
/// Several servers may run at once (each has its own ports and dir); they are separate clusters,
/// not members of one.
final class EtcdServer {
    static let binary = "/usr/bin/etcd"
    static let ctl = "/usr/bin/etcdctl"
    static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: binary) }

    let clientPort: UInt16
    let peerPort: UInt16
    let dir: TempDir
    /// Server TLS with client certificates required (https client URL), or nil for plain http.
    let certificates: EtcdCertificates?
    private var child: ChildProcess?
    private let logFile: URL

    /// The client URL as the cluster config spells it.
    var url: String { "\(certificates == nil ? "http" : "https")://127.0.0.1:\(clientPort)" }
    var endpoint: EtcdEndpoint { EtcdEndpoint(secure: certificates != nil, host: "127.0.0.1", port: clientPort) }
    /// The TLS settings a client needs: the CA and the client certificate (nil for plain http).
    var clientTLS: ClusterTLSConfig? {
        certificates.map { ClusterTLSConfig(caFile: $0.ca, certFile: $0.clientCertificate, keyFile: $0.clientKey) }
    }
    var isRunning: Bool { child?.isRunning ?? false }
    var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    /// Starts etcd and waits (bounded by `readyTimeout` seconds) until it answers /health.
    static func start(tls: Bool = false, readyTimeout: Double = 10) throws -> EtcdServer {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try EtcdServer(tls: tls, readyTimeout: readyTimeout)
            } catch EtcdServerError.exitedEarly(_, let log) where attempt < 3 && log.contains("address already in use") {
                continue
            }
        }
    }

    private init(tls: Bool, readyTimeout: Double) throws {
        clientPort = try Posix.freePort()
        var peer = try Posix.freePort()
        while peer == clientPort { peer = try Posix.freePort() }
        peerPort = peer
        dir = try TempDir.make()
        logFile = dir.url.appendingPathComponent("etcd.log")
        do {
            certificates = tls ? try EtcdCertificates.make(in: dir) : nil
        } catch {
            dir.remove()
            throw error
        }
        do {
            try launch(readyTimeout: readyTimeout)
        } catch {
            stop()
            dir.remove()
            throw error
        }
    }

    deinit {
        stop()
        dir.remove()
    }

    /// SIGTERM, then SIGKILL after 5 s; reaped. Idempotent.
    func stop() {
        child?.terminate(grace: 5)
        child = nil
    }

    /// SIGKILL at once (a crash: no clean shutdown, connections reset); reaped.
    func kill() {
        child?.terminate(grace: 0)
        child = nil
    }

    /// Starts etcd again on the same ports and data dir (after `stop` or `kill`) and waits until it answers.
    func restart(readyTimeout: Double = 10) throws {
        stop()
        try launch(readyTimeout: readyTimeout)
    }

    /// Runs etcdctl against this server (e.g. `["compaction", "5"]`); its status and output.
    func etcdctl(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        var tlsArguments: [String] = []
        if let certificates {
            tlsArguments = ["--cacert", certificates.ca, "--cert", certificates.clientCertificate, "--key", certificates.clientKey]
        }
        return try ChildProcess.run(Self.ctl, ["--endpoints", url, "--command-timeout", "3s"] + tlsArguments + arguments)
    }

    private func launch(readyTimeout: Double) throws {
        let peerURL = "http://127.0.0.1:\(peerPort)"
        var arguments = [
            "--name", "default", "--data-dir", dir.url.appendingPathComponent("data").path,
            "--listen-client-urls", url, "--advertise-client-urls", url,
            "--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
            "--initial-cluster", "default=\(peerURL)",
            // A single member elects itself at once either way; short ticks make a restart's election quick too.
            "--heartbeat-interval", "50", "--election-timeout", "500",
            "--logger", "zap", "--log-outputs", "stderr",
        ]
        if let certificates {
            arguments += [
                "--cert-file", certificates.serverCertificate, "--key-file", certificates.serverKey,
                "--trusted-ca-file", certificates.ca, "--client-cert-auth",
            ]
        }
        let launched = try ChildProcess(path: Self.binary, arguments: arguments, stdoutPath: logFile.path)
        child = launched
        let deadline = Date().addingTimeInterval(readyTimeout)
        while !isHealthy() {
            if !launched.isRunning {
                child = nil
                throw EtcdServerError.exitedEarly(status: launched.terminationStatus ?? -1, log: log)
            }
            if Date() > deadline { throw EtcdServerError.notReady(log: log) }
            usleep(50_000)
        }
    }

    /// GET /health answers `"health":"true"` (curl, so https with the client certificate works the same).
    private func isHealthy() -> Bool {
        var arguments = ["-s", "--max-time", "1", "\(url)/health"]
        if let certificates {
            arguments += ["--cacert", certificates.ca, "--cert", certificates.clientCertificate, "--key", certificates.clientKey]
        }
        guard let result = try? ChildProcess.run("/usr/bin/curl", arguments, timeout: 3) else { return false }
        return result.status == 0 && result.stdout.contains("\"health\":\"true\"")
    }
}

/// Runs `body` with a started etcd, stopped and removed afterwards whatever happens; its log is
/// printed when `body` throws.
func withEtcd<T>(tls: Bool = false, _ body: (EtcdServer) throws -> T) throws -> T {
    let server = try EtcdServer.start(tls: tls)
    defer {
        server.stop()
        server.dir.remove()
    }
    do {
        return try body(server)
    } catch {
        print("etcd log, last 4 KiB:\n\(server.log.suffix(4096))")
        throw error
    }
}
