// Handshakes against `openssl s_client`: the TLS 1.2 floor and the server-preferred ALPN choice.
import Foundation
import Testing
import TLS

/// What the server side saw of one s_client connection.
struct HandshakeOutcome {
    var error: String?
    var version: String?
    var alpn: String?
    var clientStatus: Int32?
    var clientOutput: String
}

/// Runs `openssl s_client` with `flags` against a one-connection server using `alpn`.
func handshake(alpn: [String] = ["http/1.1"], clientFlags flags: [String]) throws -> HandshakeOutcome {
    let dir = try TempDirectory()
    defer { dir.remove() }
    let pair = try Certificate.make(in: dir)
    return try handshake(context: try TLSContext(keyPairs: [pair.keyPair], alpn: alpn), in: dir, clientFlags: flags)
}

/// Runs `openssl s_client` with `flags` (from `dir`) against a one-connection server using `context`.
func handshake(context: TLSContext, in dir: TempDirectory, clientFlags flags: [String]) throws -> HandshakeOutcome {
    let listener = try TestListener()
    let client = try ClientProcess(
        "/usr/bin/openssl", ["s_client", "-connect", "127.0.0.1:\(listener.port)"] + flags, in: dir, name: "s_client")
    let deadline = Deadline(seconds: 10)
    var outcome = HandshakeOutcome(clientOutput: "")
    do {
        let connection = try listener.accept(context: context, until: deadline)
        do {
            try connection.handshake()
            outcome.version = connection.session.protocolVersion
            outcome.alpn = connection.session.negotiatedProtocol
            // s_client sees EOF on stdin and closes: wait for that so it exits cleanly.
            try connection.readUntilEnd()
        } catch {
            outcome.error = "\(error)"
        }
        connection.close()
    } catch {
        outcome.error = "\(error)"
    }
    outcome.clientStatus = client.finish()
    outcome.clientOutput = client.output
    return outcome
}

@Suite("Handshakes with openssl s_client", .serialized)
struct HandshakeTests {
    @Test func tls11IsRefused() throws {
        // SECLEVEL=0 lets the client offer TLS 1.1 at all, so the refusal is the server's.
        let outcome = try handshake(clientFlags: ["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"])
        #expect(outcome.version == nil)
        #expect(outcome.error?.contains("unsupported protocol") == true, "\(outcome.error ?? "no server error")")
        #expect(outcome.clientStatus != 0 || outcome.clientOutput.contains("Cipher is (NONE)"), "\(outcome.clientOutput)")
    }

    @Test func tls12Works() throws {
        let outcome = try handshake(clientFlags: ["-tls1_2"])
        #expect(outcome.error == nil, "\(outcome.error ?? "")")
        #expect(outcome.version == "TLSv1.2")
        #expect(outcome.clientStatus == 0, "\(outcome.clientOutput)")
    }

    @Test func tls13Works() throws {
        let outcome = try handshake(clientFlags: ["-tls1_3"])
        #expect(outcome.error == nil, "\(outcome.error ?? "")")
        #expect(outcome.version == "TLSv1.3")
        #expect(outcome.clientStatus == 0, "\(outcome.clientOutput)")
    }

    @Test func alpnFallsToHTTP11WhenTheServerOnlySpeaksIt() throws {
        let outcome = try handshake(alpn: ["http/1.1"], clientFlags: ["-alpn", "h2,http/1.1"])
        #expect(outcome.error == nil, "\(outcome.error ?? "")")
        #expect(outcome.alpn == "http/1.1")
    }

    @Test func alpnPrefersH2WhenTheServerOffersIt() throws {
        let outcome = try handshake(alpn: ["h2", "http/1.1"], clientFlags: ["-alpn", "http/1.1,h2"])
        #expect(outcome.error == nil, "\(outcome.error ?? "")")
        #expect(outcome.alpn == "h2")
    }

    @Test func noALPNFromTheClientIsAccepted() throws {
        let outcome = try handshake(alpn: ["h2", "http/1.1"], clientFlags: [])
        #expect(outcome.error == nil, "\(outcome.error ?? "")")
        #expect(outcome.alpn == nil)
        #expect(outcome.clientStatus == 0, "\(outcome.clientOutput)")
    }

    @Test func noCommonALPNProceedsWithoutOne() throws {
        let outcome = try handshake(alpn: ["http/1.1"], clientFlags: ["-alpn", "h3"])
        #expect(outcome.error == nil, "\(outcome.error ?? "")")
        #expect(outcome.alpn == nil)
    }
}
