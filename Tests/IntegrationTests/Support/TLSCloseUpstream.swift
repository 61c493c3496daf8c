// tls_close_upstream.py as a child process: a TLS upstream ending close-delimited responses with or without close_notify.
import Foundation

/// `GET /whole` ends with close_notify then FIN, `GET /cut` with a bare FIN; both send `body`.
final class TLSCloseUpstream {
    static let body = "the first part of a close-delimited body\n"

    var port: UInt16 { process.port }
    var endpoint: String { process.endpoint }
    /// Self-signed for `name`: its own CA, given to the proxy as `caFile`.
    let certificate: String
    private let certificates: TempDir
    private let process: ScriptUpstream

    init(name: String) throws {
        let certificates = try TempDir.make()
        do {
            let (certificate, key) = try makeTestCertificate(name, in: certificates)
            process = try ScriptUpstream("tls_close_upstream.py") { [String($0), certificate, key] }
            self.certificate = certificate
        } catch {
            certificates.remove()
            throw error
        }
        self.certificates = certificates
    }

    deinit { stop() }

    func stop() {
        process.stop()
        certificates.remove()
    }
}
