// Self-signed test certificates made with the openssl command line, for TLS listeners and HTTPS upstreams alike.
import Foundation

/// A self-signed P-256 certificate for `CN=name` and `DNS:name` (it is its own CA) in `dir`: the PEM
/// certificate and private key paths.
func makeTestCertificate(_ name: String, in dir: TempDir) throws -> (certificate: String, privateKey: String) {
    let certificate = dir.url.appendingPathComponent("\(name)-cert.pem").path
    let key = dir.url.appendingPathComponent("\(name)-key.pem").path
    let made = try ChildProcess.run("/usr/bin/openssl", [
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", key, "-out", certificate, "-days", "1", "-subj", "/CN=\(name)", "-addext", "subjectAltName=DNS:\(name)",
    ])
    guard made.status == 0 else { throw ProxyError.badStatus(Int(made.status), made.stderr) }
    return (certificate, key)
}
