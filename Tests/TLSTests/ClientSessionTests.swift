// Client sessions against the test TLS server: verified with the right CA and name, refused otherwise, CA file errors.
import Foundation
import Testing
import TLS

/// A self-signed P-256 certificate whose subjectAltName is `altName` (`DNS:x` or `IP:x`): it is its own CA.
private func makeCertificate(_ altName: String, in dir: TempDirectory, prefix: String) throws -> Certificate {
    let key = prefix + "key.pem", cert = prefix + "cert.pem"
    let result = try runToCompletion(
        "/usr/bin/openssl",
        [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=test upstream", "-addext", "subjectAltName=\(altName)",
        ], in: dir.path)
    guard result.status == 0 else { throw FixtureError(description: "openssl req failed: \(result.output)") }
    return Certificate(certificate: dir.file(cert), key: dir.file(key))
}

/// `connections` connections, one after the other: the client (on its thread) handshakes with
/// `serverName` and trusts `client`; the server (this thread) serves `served`, and on a verified
/// handshake answers the request head and closes. What the client saw of each, and the server's last error.
private func exchanges(
    served: Certificate, client: TLSClientContext, serverName: String,
    connections: Int
) throws -> (client: [ClientOutcome], serverError: String?) {
    let context = try TLSContext(keyPairs: [TLSKeyPair(certificateFile: served.certificate, privateKeyFile: served.key)])
    let listener = try TestListener()
    let request = Array("GET / HTTP/1.1\r\nHost: \(serverName)\r\n\r\n".utf8)
    let peer = TestClient(context: client, port: listener.port, serverName: serverName, request: request, connections: connections)
    var serverError: String?
    for _ in 0..<connections {
        do {
            let connection = try listener.accept(context: context, until: Deadline(seconds: 10))
            do {
                try connection.handshake()
                _ = try connection.readRequestHead()
                try connection.writeAll(Array("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n".utf8))
            } catch {
                serverError = "\(error)"
            }
            connection.close()
        } catch {
            serverError = "\(error)"
        }
    }
    return (peer.wait(), serverError)
}

/// One connection (see `exchanges`).
private func exchange(
    served: Certificate, client: TLSClientContext, serverName: String
) throws -> (client: ClientOutcome, serverError: String?) {
    let (outcomes, serverError) = try exchanges(served: served, client: client, serverName: serverName, connections: 1)
    return (outcomes[outcomes.count - 1], serverError)
}

@Suite("Client sessions", .serialized)
struct ClientSessionTests {
    @Test func verifiedWithTheRightCAAndName() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let served = try makeCertificate("DNS:upstream.test", in: dir, prefix: "up-")
        let (client, serverError) = try exchange(
            served: served, client: try TLSClientContext(caFile: served.certificate), serverName: "upstream.test")
        #expect(client.error == nil, "\(client.error ?? "")")
        #expect(serverError == nil, "\(serverError ?? "")")
        #expect(client.verificationFailure == nil)
        #expect(String(decoding: client.response, as: UTF8.self).hasSuffix("\r\n\r\nok\n"))
    }

    @Test func anIPAddressIsCheckedAgainstIPSubjectAltNames() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let served = try makeCertificate("IP:127.0.0.1", in: dir, prefix: "ip-")
        let context = try TLSClientContext(caFile: served.certificate)
        let (client, _) = try exchange(served: served, client: context, serverName: "127.0.0.1")
        #expect(client.error == nil, "\(client.error ?? "")")
        let (other, _) = try exchange(served: served, client: context, serverName: "127.0.0.2")
        #expect(other.verificationFailure == "IP address mismatch")
    }

    @Test func aWrongNameIsRefused() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let served = try makeCertificate("DNS:upstream.test", in: dir, prefix: "up-")
        let (client, serverError) = try exchange(
            served: served, client: try TLSClientContext(caFile: served.certificate), serverName: "other.test")
        #expect(client.error?.hasPrefix("TLS handshake: ") == true, "\(client.error ?? "no error")")
        #expect(client.error?.contains("certificate verify failed") == true, "\(client.error ?? "no error")")
        #expect(client.verificationFailure == "hostname mismatch")
        #expect(client.response.isEmpty)
        #expect(serverError != nil, "the server must see the client's alert")
    }

    @Test func anUnknownCAIsRefused() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let served = try makeCertificate("DNS:upstream.test", in: dir, prefix: "up-")
        let stranger = try makeCertificate("DNS:upstream.test", in: dir, prefix: "other-")
        let (client, _) = try exchange(
            served: served, client: try TLSClientContext(caFile: stranger.certificate), serverName: "upstream.test")
        #expect(client.error?.contains("certificate verify failed") == true, "\(client.error ?? "no error")")
        #expect(client.verificationFailure == "self-signed certificate")
    }

    @Test func theSystemTrustStoreRefusesASelfSignedUpstream() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let served = try makeCertificate("DNS:upstream.test", in: dir, prefix: "up-")
        let (client, _) = try exchange(served: served, client: try TLSClientContext(caFile: nil), serverName: "upstream.test")
        #expect(client.verificationFailure == "self-signed certificate", "\(client.error ?? "no error")")
    }

    @Test func laterConnectionsResumeTheSession() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let served = try makeCertificate("DNS:upstream.test", in: dir, prefix: "up-")
        let (outcomes, serverError) = try exchanges(
            served: served, client: try TLSClientContext(caFile: served.certificate),
            serverName: "upstream.test", connections: 3)
        #expect(serverError == nil, "\(serverError ?? "")")
        #expect(outcomes.map(\.error) == [nil, nil, nil], "\(outcomes.map(\.error))")
        #expect(outcomes.map(\.resumed) == [false, true, true])
    }

    @Test func caFileErrorsNameTheFile() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let missing = dir.file("missing.pem")
        let absent = #expect(throws: TLSError.self) { try TLSClientContext(caFile: missing) }
        #expect(absent?.message == "CA file \(missing): no such file")
        let garbage = try dir.write("garbage.pem", "not a certificate\n")
        let unreadable = #expect(throws: TLSError.self) { try TLSClientContext(caFile: garbage) }
        #expect(
            unreadable?.message.hasPrefix("CA file \(garbage): cannot load PEM CA certificates") == true, "\(unreadable?.message ?? "")")
    }
}
