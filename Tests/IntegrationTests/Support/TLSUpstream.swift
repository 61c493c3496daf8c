// HTTPS test upstreams with a self-signed certificate: `openssl s_server -WWW` (a connection per request) and nginx (keep-alive).
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Serves the files written with `serve(_:_:)` on 127.0.0.1 (HTTP/1.0 responses, close-delimited),
/// with a certificate for `DNS:name` that tests give the proxy as its `caFile`.
final class TLSUpstream {
    let port: UInt16
    var endpoint: String { "127.0.0.1:\(port)" }
    /// The certificate, which is its own CA.
    let certificate: String
    private let dir: TempDir
    private let child: ChildProcess
    private let logFile: URL

    /// `requireSNI`: the server ends a handshake whose SNI is not `name` with a fatal alert, so a
    /// successful exchange proves the client sent it.
    init(name: String, requireSNI: Bool = false) throws {
        dir = try TempDir.make()
        let key: String
        (certificate, key) = try makeTestCertificate(name, in: dir)
        port = try Posix.freePort()
        logFile = dir.url.appendingPathComponent("s_server.log")
        // -servername needs a second certificate for other names; the same one does, since -servername_fatal refuses them.
        let sni = requireSNI ? ["-servername", name, "-servername_fatal", "-cert2", certificate, "-key2", key] : []
        let command = (["/usr/bin/openssl", "s_server", "-accept", "127.0.0.1:\(port)", "-cert", certificate, "-key", key, "-WWW"] + sni)
            .map { "'\($0)'" }.joined(separator: " ")
        // -WWW serves paths relative to its working directory; exec keeps the shell's PID for openssl.
        child = try ChildProcess(path: "/bin/sh", arguments: ["-c", "cd '\(dir.url.path)' && exec \(command)"], stdoutPath: logFile.path)
        guard Posix.waitUntil(timeout: 5, { log.contains("ACCEPT") }) else {
            stop()
            throw ProxyError.notReady(log: log)
        }
    }

    deinit { stop() }

    /// Makes `GET /name` answer `text`.
    func serve(_ name: String, _ text: String) throws { _ = try dir.write(name, text) }

    /// What s_server printed: "FILE:name" per request served, OpenSSL errors of failed handshakes.
    var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    func stop() {
        child.terminate(grace: 1)
        dir.remove()
    }
}

/// nginx over TLS with keep-alive on 127.0.0.1, answering every request with `connection N sni NAME
/// session r` (or `.`): its connection serial number, the SNI it received, whether the TLS session was resumed.
final class KeepAliveTLSUpstream {
    static let binary = "/usr/sbin/nginx"
    static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: binary) }

    let port: UInt16
    var endpoint: String { "127.0.0.1:\(port)" }
    let certificate: String
    private let dir: TempDir
    private let child: ChildProcess

    /// `requestsPerConnection`: nginx closes a connection after that many requests.
    init(name: String, requestsPerConnection: Int = 1000) throws {
        dir = try TempDir.make()
        let key: String
        (certificate, key) = try makeTestCertificate(name, in: dir)
        port = try Posix.freePort()
        let path = dir.url.path
        // One foreground process (no master/workers) that writes only inside `dir`.
        let conf = try dir.write(
            "nginx.conf",
            """
            daemon off;
            master_process off;
            error_log \(path)/error.log info;
            pid \(path)/nginx.pid;
            events { worker_connections 64; }
            http {
                access_log off;
                client_body_temp_path \(path)/body;
                proxy_temp_path \(path)/proxy;
                fastcgi_temp_path \(path)/fastcgi;
                uwsgi_temp_path \(path)/uwsgi;
                scgi_temp_path \(path)/scgi;
                server {
                    listen 127.0.0.1:\(port) ssl;
                    keepalive_requests \(requestsPerConnection);
                    ssl_certificate \(certificate);
                    ssl_certificate_key \(key);
                    location / { return 200 "connection $connection sni $ssl_server_name session $ssl_session_reused\\n"; }
                }
            }
            """)
        child = try ChildProcess(
            path: Self.binary, arguments: ["-p", path, "-e", "\(path)/error.log", "-c", conf.path],
            stdoutPath: dir.url.appendingPathComponent("stdout.log").path)
        let port = port
        guard
            Posix.waitUntil(
                timeout: 5,
                {
                    (try? Posix.connect(port: port, timeout: 0.2)).map {
                        close($0); return true
                    } ?? false
                })
        else {
            stop()
            throw ProxyError.notReady(log: (try? String(contentsOfFile: "\(path)/error.log", encoding: .utf8)) ?? "")
        }
    }

    deinit { stop() }

    func stop() {
        child.terminate(grace: 1)
        dir.remove()
    }
}
