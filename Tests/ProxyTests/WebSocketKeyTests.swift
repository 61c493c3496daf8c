// The key the proxy sends for an HTTP/2 WebSocket, and the accept it expects back (RFC 6455 §1.3, §4.2.2).
@testable import Proxy
import Testing

@Suite("WebSocket key")
struct WebSocketKeyTests {
    /// RFC 6455 §1.3's example: the nonce "the sample nonce".
    static let sample: WebSocketKey = Array("the sample nonce".utf8).withUnsafeBytes {
        WebSocketKey(nonce: ($0.load(as: UInt64.self), $0.load(fromByteOffset: 8, as: UInt64.self)))
    }

    static func text(_ key: WebSocketKey) -> String { key.withBytes { String(decoding: $0, as: UTF8.self) } }

    @Test func theKeyIsTheNonceInBase64() {
        #expect(Self.text(Self.sample) == "dGhlIHNhbXBsZSBub25jZQ==")
    }

    @Test func theRFCsAcceptValueIsAcceptedAndOthersAreNot() {
        #expect(Array("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".utf8).withUnsafeBytes { Self.sample.isAccepted(by: $0) })
        #expect(!Array("s3pPLMBiTxaQ9kYGzzhZRbK+xOp=".utf8).withUnsafeBytes { Self.sample.isAccepted(by: $0) })
        #expect(!Array("s3pPLMBiTxaQ9kYGzzhZRbK+xOo".utf8).withUnsafeBytes { Self.sample.isAccepted(by: $0) })
    }

    @Test func randomKeysAre24Base64BytesAndDiffer() {
        let a = WebSocketKey.random(), b = WebSocketKey.random()
        #expect(a != b)
        #expect(Self.text(a).count == 24 && Self.text(a).hasSuffix("=="))
    }

    @Test(arguments: [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foobar", "Zm9vYmFy")])
    func base64MatchesRFC4648sVectors(input: String, encoded: String) {
        var out = [UInt8](repeating: 0, count: 16)
        let n = Array(input.utf8).withUnsafeBytes { bytes in out.withUnsafeMutableBytes { Base64.encode(bytes, into: $0) } }
        #expect(String(decoding: out[..<n], as: UTF8.self) == encoded)
    }
}
