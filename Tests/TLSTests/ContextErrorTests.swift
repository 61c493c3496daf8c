// TLSContext refuses bad certificate/key files with messages that name the file and the problem.
import Foundation
import Testing
@testable import TLS

@Suite("TLSContext errors")
struct ContextErrorTests {
    @Test func loadsAGoodPair() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let pair = try Certificate.make(in: dir)
        let context = try TLSContext(keyPairs: [pair.keyPair], alpn: ["h2", "http/1.1"])
        #expect(context.alpnProtocols == ["h2", "http/1.1"])
    }

    @Test func missingCertificate() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let pair = try Certificate.make(in: dir)
        let missing = dir.file("nope.pem")
        let error = #expect(throws: TLSError.self) {
            try TLSContext(keyPairs: [TLSKeyPair(certificateFile: missing, privateKeyFile: pair.key)])
        }
        #expect(error?.description == "certificate \(missing): no such file")
    }

    @Test func missingKey() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let pair = try Certificate.make(in: dir)
        let missing = dir.file("nokey.pem")
        let error = #expect(throws: TLSError.self) {
            try TLSContext(keyPairs: [TLSKeyPair(certificateFile: pair.certificate, privateKeyFile: missing)])
        }
        #expect(error?.description == "private key \(missing): no such file")
    }

    @Test func keyOfAnotherCertificate() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let pair = try Certificate.make(in: dir)
        let other = try Certificate.make(in: dir, prefix: "other-")
        let error = #expect(throws: TLSError.self) {
            try TLSContext(keyPairs: [TLSKeyPair(certificateFile: pair.certificate, privateKeyFile: other.key)])
        }
        #expect(error?.description == "private key \(other.key) does not match the certificate \(pair.certificate)")
    }

    /// An RSA key for an EC certificate loads into another slot; only SSL_CTX_check_private_key sees it.
    @Test func keyOfAnotherType() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let pair = try Certificate.make(in: dir)
        let rsa = try runToCompletion(
            "/usr/bin/openssl", ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024", "-out", "rsa.pem"], in: dir.path)
        try #require(rsa.status == 0, "\(rsa.output)")
        let error = #expect(throws: TLSError.self) {
            try TLSContext(keyPairs: [TLSKeyPair(certificateFile: pair.certificate, privateKeyFile: dir.file("rsa.pem"))])
        }
        #expect(error?.description == "private key \(dir.file("rsa.pem")) does not match the certificate \(pair.certificate)")
    }

    @Test func garbageCertificate() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let pair = try Certificate.make(in: dir)
        let garbage = try dir.write("garbage.pem", "this is not a certificate\n")
        let error = #expect(throws: TLSError.self) {
            try TLSContext(keyPairs: [TLSKeyPair(certificateFile: garbage, privateKeyFile: pair.key)])
        }
        let text = error?.description ?? ""
        #expect(text.hasPrefix("certificate \(garbage): cannot load a PEM certificate chain: error:"), "\(text)")
        #expect(text.contains("no start line"), "\(text)")
    }

    @Test func garbageKey() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let pair = try Certificate.make(in: dir)
        let garbage = try dir.write("garbage-key.pem", "-----BEGIN PRIVATE KEY-----\nnot base64!\n-----END PRIVATE KEY-----\n")
        let error = #expect(throws: TLSError.self) {
            try TLSContext(keyPairs: [TLSKeyPair(certificateFile: pair.certificate, privateKeyFile: garbage)])
        }
        let text = error?.description ?? ""
        #expect(text.hasPrefix("private key \(garbage): cannot load a PEM private key: error:"), "\(text)")
    }

    @Test func badALPNName() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let pair = try Certificate.make(in: dir)
        let error = #expect(throws: TLSError.self) { try TLSContext(keyPairs: [pair.keyPair], alpn: [""]) }
        #expect(error?.description == "ALPN protocol name \"\" must be 1 to 255 bytes")
    }

    @Test func alpnPrefersTheServerOrder() throws {
        let preference = try ALPNPreference(["h2", "http/1.1"])
        let client: [UInt8] = [8] + Array("http/1.1".utf8) + [2] + Array("h2".utf8)
        let chosen = client.withUnsafeBufferPointer { preference.select(fromClientList: $0) }
        #expect(chosen?.offset == 10 && chosen?.length == 2)
        let onlyH3: [UInt8] = [2] + Array("h3".utf8)
        #expect(onlyH3.withUnsafeBufferPointer { preference.select(fromClientList: $0) } == nil)
        let malformed: [UInt8] = [9, 104, 50]
        #expect(malformed.withUnsafeBufferPointer { preference.select(fromClientList: $0) } == nil)
    }
}
