// The HTTP/2 (h2c) test upstream, h2upstream.py, run as a child process: gRPC-style trailers, echoes, large bodies, resets.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One h2upstream.py listening on a free loopback port; every response names it in `x-upstream`.
final class H2UpstreamProcess {
    let name: String
    let port: UInt16
    private let child: ChildProcess
    private let dir: TempDir

    var endpoint: String { "127.0.0.1:\(port)" }

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("h2upstream.py").path

    /// `tls`: PEM certificate and key; the upstream then speaks TLS with ALPN "h2".
    /// `grpcFailPercent`: that share of /grpc/ calls (without x-grpc-status) end with grpc-status 14.
    init(name: String, tls: (certificate: String, privateKey: String)? = nil, grpcFailPercent: Int = 0) throws {
        try H2Tools.requirePythonH2()
        self.name = name
        dir = try TempDir.make()
        port = try Posix.freePort()
        let log = dir.url.appendingPathComponent("out").path
        let tlsArguments = tls.map { [$0.certificate, $0.privateKey] } ?? []
        child = try ChildProcess(
            path: H2Tools.python,
            arguments: [Self.script, "--grpc-fail-percent=\(grpcFailPercent)", String(port), name]
                + tlsArguments, stdoutPath: log)
        // Ready once it printed its port (bounded wait).
        let deadline = Date().addingTimeInterval(10)
        while !((try? String(contentsOfFile: log, encoding: .utf8))?.hasPrefix("ready") ?? false) {
            guard Date() < deadline, child.isRunning else {
                child.terminate(grace: 0)
                dir.remove()
                throw ProxyError.badStatus(-1, "h2upstream.py did not start: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
            }
            usleep(10_000)
        }
    }

    func stop() {
        child.terminate(grace: 1)
        dir.remove()
    }
}
