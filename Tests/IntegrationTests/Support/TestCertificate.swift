// Self-signed test certificates made with the openssl command line, for TLS listeners and HTTPS upstreams alike, and a config with a TLS listener.
import Foundation

/// A self-signed P-256 certificate for `CN=name` and `DNS:name` (it is its own CA) in `dir`: the PEM
/// certificate and private key paths.
func makeTestCertificate(_ name: String, in dir: TempDir) throws -> (certificate: String, privateKey: String) {
    let certificate = dir.url.appendingPathComponent("\(name)-cert.pem").path
    let key = dir.url.appendingPathComponent("\(name)-key.pem").path
    let made = try ChildProcess.run(
        "/usr/bin/openssl",
        [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", key, "-out", certificate, "-days", "1", "-subj", "/CN=\(name)", "-addext", "subjectAltName=DNS:\(name)",
        ])
    guard made.status == 0 else { throw ProxyError.badStatus(Int(made.status), made.stderr) }
    return (certificate, key)
}

extension ProxyConfig {
    /// This config plus a TLS listener `https` on a free port, serving a fresh localhost certificate
    /// made in `dir`.
    func withTLSListener(
        in dir: TempDir
    ) throws -> (config: ProxyConfig, tlsPort: UInt16, certificate: (certificate: String, privateKey: String)) {
        let certificate = try makeTestCertificate("localhost", in: dir)
        let tlsPort = try Posix.freePort()
        var config = self
        config.extraListeners = [ListenerSpec("https", port: tlsPort, tls: certificate)]
        return (config, tlsPort, certificate)
    }
}
