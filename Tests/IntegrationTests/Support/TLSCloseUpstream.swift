// tls_close_upstream.py as a child process: a TLS upstream ending close-delimited responses with or without close_notify.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `GET /whole` ends with close_notify then FIN, `GET /cut` with a bare FIN; both send `body`.
final class TLSCloseUpstream {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("tls_close_upstream.py").path
    static let body = "the first part of a close-delimited body\n"

    let port: UInt16
    var endpoint: String { "127.0.0.1:\(port)" }
    /// Self-signed for `name`: its own CA, given to the proxy as `caFile`.
    let certificate: String
    private let dir: TempDir
    private let child: ChildProcess

    init(name: String) throws {
        dir = try TempDir.make()
        let key: String
        (certificate, key) = try makeTestCertificate(name, in: dir)
        port = try Posix.freePort()
        let log = dir.url.appendingPathComponent("out").path
        child = try ChildProcess(path: H2Tools.python, arguments: [Self.script, String(port), certificate, key], stdoutPath: log)
        let started = Posix.waitUntil(timeout: 10) { (try? String(contentsOfFile: log, encoding: .utf8))?.hasPrefix("ready") ?? false }
        guard started else {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            stop()
            throw ProxyError.notReady(log: "tls_close_upstream.py: \(text)")
        }
    }

    deinit { stop() }

    func stop() {
        child.terminate(grace: 1)
        dir.remove()
    }
}
