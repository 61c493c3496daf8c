// The HTTP/2 (h2c) test upstream, h2upstream.py, run as a child process: gRPC-style trailers, echoes, large bodies, resets.
import Foundation

/// One h2upstream.py listening on a free loopback port; every response names it in `x-upstream`.
final class H2UpstreamProcess {
    let name: String
    private let process: ScriptUpstream

    var port: UInt16 { process.port }
    var endpoint: String { process.endpoint }

    /// `tls`: PEM certificate and key; the upstream then speaks TLS with ALPN "h2".
    /// `grpcFailPercent`: that share of /grpc/ calls (without x-grpc-status) end with grpc-status 14.
    init(name: String, tls: (certificate: String, privateKey: String)? = nil, grpcFailPercent: Int = 0) throws {
        try H2Tools.requirePythonH2()
        self.name = name
        let tlsArguments = tls.map { [$0.certificate, $0.privateKey] } ?? []
        process = try ScriptUpstream("h2upstream.py") { port in
            ["--grpc-fail-percent=\(grpcFailPercent)", String(port), name] + tlsArguments
        }
    }

    func stop() { process.stop() }
}
