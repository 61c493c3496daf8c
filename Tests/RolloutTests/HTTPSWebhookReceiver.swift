// An HTTPS webhook receiver for the tests: Python's http.server wrapped in ssl, with certificates the openssl CLI makes.
import Foundation
import Testing

struct ReceiverError: Error, CustomStringConvertible {
    var description: String
}

/// A fresh directory for certificates, keys, secrets and the receiver's files; `remove()` deletes it.
struct WebhookTestDirectory {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("canarygate-https-hook-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
    }

    func file(_ name: String) -> String { path + "/" + name }

    func write(_ name: String, _ contents: String) throws -> String {
        try contents.write(toFile: file(name), atomically: true, encoding: .utf8)
        return file(name)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }

    /// A self-signed P-256 certificate (its own CA) whose subjectAltName is `altNames` as openssl
    /// writes it ("IP:127.0.0.1", "DNS:hooks.example"): the certificate and key paths.
    func makeCertificate(_ name: String, altNames: String) throws -> (certificate: String, key: String) {
        let certificate = file("\(name)-cert.pem"), key = file("\(name)-key.pem")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", key, "-out", certificate, "-days", "1", "-subj", "/CN=\(name)", "-addext", "subjectAltName=\(altNames)",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw ReceiverError(description: "openssl req exited \(process.terminationStatus)") }
        return (certificate, key)
    }
}

/// `python3` serving HTTPS on 127.0.0.1 (a free port it picks) with one certificate. Each POST is
/// appended to a log as one JSON line (path, headers, body) and answered with `status`; a non-2xx
/// answer's body repeats the request's Authorization header, as a careless error page might.
final class HTTPSWebhookReceiver {
    struct Request: Decodable {
        var path: String
        var headers: [String: String]
        var body: String
    }

    let port: UInt16
    private let process = Process()
    private let logPath: String

    init(certificate: (certificate: String, key: String), status: Int = 200, in directory: WebhookTestDirectory) throws {
        let script = try directory.write("receiver.py", Self.script)
        let portPath = directory.file("receiver.port")
        logPath = directory.file("receiver.log")
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [script, certificate.certificate, certificate.key, String(status), logPath, portPath]
        process.standardOutput = FileHandle.nullDevice
        // Failed handshakes (the tests with the wrong CA or name) are expected; their tracebacks are not interesting.
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Poll for the port file (written atomically once listening), bounded in time.
        let end = Date().addingTimeInterval(20)
        var port: UInt16?
        while port == nil && Date() < end && process.isRunning {
            port = (try? String(contentsOfFile: portPath, encoding: .utf8)).flatMap { UInt16($0) }
            if port == nil { usleep(20_000) }
        }
        guard let port else {
            Self.stop(process)
            throw ReceiverError(description: "the HTTPS receiver did not start")
        }
        self.port = port
    }

    deinit { stop() }

    func stop() { Self.stop(process) }

    /// SIGKILL: the test process blocks most signals, and a child it spawns inherits that mask, so a SIGTERM would wait forever.
    private static func stop(_ process: Process) {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    var requests: [Request] {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { try? JSONDecoder().decode(Request.self, from: Data($0.utf8)) }
    }

    func url(host: String = "127.0.0.1", path: String = "/hooks/gate?x=1") -> String { "https://\(host):\(port)\(path)" }

    private static let script = """
        import http.server, json, os, ssl, sys

        certificate, key, status, log_path, port_path = sys.argv[1:6]
        status = int(status)

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get('Content-Length', '0')))
                with open(log_path, 'a') as log:
                    log.write(json.dumps({'path': self.path, 'headers': dict(self.headers.items()), 'body': body.decode()}) + '\\n')
                reply = b'ok' if 200 <= status < 300 else ('refused: ' + self.headers.get('Authorization', '')).encode()
                self.send_response(status)
                self.send_header('Content-Length', str(len(reply)))
                self.send_header('Connection', 'close')
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certificate, key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        with open(port_path + '.tmp', 'w') as f:
            f.write(str(server.server_address[1]))
        os.rename(port_path + '.tmp', port_path)
        server.serve_forever()
        """
}
