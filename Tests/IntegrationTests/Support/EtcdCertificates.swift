// A test CA, an etcd server certificate for 127.0.0.1 and a client certificate, made with the openssl command line.
import Foundation

/// For etcd with `--client-cert-auth`: the server's certificate covers IP:127.0.0.1 (the client checks
/// the address it connects to), the client's is signed by the same CA, which etcd trusts.
struct EtcdCertificates {
    var ca: String
    var serverCertificate: String
    var serverKey: String
    var clientCertificate: String
    var clientKey: String

    static func make(in dir: TempDir) throws -> EtcdCertificates {
        let path = { (name: String) in dir.url.appendingPathComponent(name).path }
        let newKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try openssl(
            ["req", "-x509"] + newKey + [
                "-keyout", path("ca-key.pem"), "-out", path("ca.pem"), "-days", "1", "-subj", "/CN=canarygate test CA",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            ])
        for (name, extensions) in [
            ("server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n"),
            ("client", "extendedKeyUsage=clientAuth\n"),
        ] {
            let extensionFile = try dir.write("\(name).ext", extensions)
            try openssl(["req"] + newKey + ["-keyout", path("\(name)-key.pem"), "-out", path("\(name).csr"), "-subj", "/CN=\(name)"])
            try openssl([
                "x509", "-req", "-in", path("\(name).csr"), "-CA", path("ca.pem"), "-CAkey", path("ca-key.pem"), "-CAcreateserial",
                "-out", path("\(name).pem"), "-days", "1", "-extfile", extensionFile.path,
            ])
        }
        return EtcdCertificates(
            ca: path("ca.pem"), serverCertificate: path("server.pem"), serverKey: path("server-key.pem"),
            clientCertificate: path("client.pem"), clientKey: path("client-key.pem"))
    }

    private static func openssl(_ arguments: [String]) throws {
        let made = try ChildProcess.run("/usr/bin/openssl", arguments)
        guard made.status == 0 else { throw ProxyError.badStatus(Int(made.status), "openssl \(arguments.first ?? ""): \(made.stderr)") }
    }
}
