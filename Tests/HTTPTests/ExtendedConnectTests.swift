// RFC 8441's extended CONNECT: which HTTP/2 CONNECTs become a WebSocket, and the HTTP/1.1 handshake written for one.
@testable import HTTP
import Testing

@Suite("Extended CONNECT")
struct ExtendedConnectTests {
    private func decide(_ method: HTTPMethod, _ connectProtocol: String?) -> ExtendedConnect.Decision {
        guard let connectProtocol else { return ExtendedConnect.decide(method: method, connectProtocol: nil) }
        return Array(connectProtocol.utf8).withUnsafeBytes { ExtendedConnect.decide(method: method, connectProtocol: $0) }
    }

    @Test func aConnectForAWebSocketIsRelayed() {
        #expect(decide(.connect, "websocket") == .webSocket)
        #expect(decide(.connect, "WebSocket") == .webSocket)
    }

    @Test func anyOtherProtocolAndAnOrdinaryConnectAre501() {
        guard case .refused(let other) = decide(.connect, "connect-udp"), case .refused(let plain) = decide(.connect, nil) else {
            Issue.record("not refused")
            return
        }
        #expect(other.status == 501 && plain.status == 501)
    }

    @Test func aProtocolWithoutConnectIsABadRequestAndOtherMethodsAreOrdinary() {
        guard case .refused(let error) = decide(.get, "websocket") else {
            Issue.record("not refused")
            return
        }
        #expect(error.status == 400)
        #expect(decide(.get, nil) == .ordinary)
    }

    /// The decoded rules leave CONNECT to the decision above (they would refuse it before `:protocol` arrived).
    @Test func theDecodedRulesAcceptCONNECTsMethodField() {
        var rules = DecodedRequestRules()
        let verdict = Array(":method".utf8).withUnsafeBytes { name in
            Array("CONNECT".utf8).withUnsafeBytes { value -> HTTPParseError? in
                do throws(HTTPParseError) { try rules.check(name: name, value: value); return nil } catch { return error }
            }
        }
        #expect(verdict == nil)
    }

    @Test func theHandshakeIsAGetWithTheUpgradeFieldsAndTheKey() {
        var request = FieldRequest(maxListSize: 16_384, maxCount: 100)
        var scratch = [UInt8](repeating: 0, count: 4096)
        let fields = [
            (":method", "CONNECT"), (":protocol", "websocket"), (":scheme", "https"), (":path", "/chat?room=1"),
            (":authority", "example.test"), ("sec-websocket-version", "13"), ("sec-websocket-protocol", "chat"),
        ]
        for (name, value) in fields {
            Array(name.utf8).withUnsafeBytes { n in
                Array(value.utf8).withUnsafeBytes { v in scratch.withUnsafeMutableBytes { request.add(name: n, value: v, scratch: $0) } }
            }
        }
        request.finish()
        #expect(request.problem == nil && request.method == .connect)
        #expect(request.connectProtocol.map { String(decoding: scratch[$0.lowerBound..<$0.upperBound], as: UTF8.self) } == "websocket")
        var out = [UInt8](repeating: 0, count: 4096)
        let n = scratch.withUnsafeBytes { source in
            Array("192.0.2.7".utf8).withUnsafeBytes { address in
                Array("dGhlIHNhbXBsZSBub25jZQ==".utf8).withUnsafeBytes { key in
                    out.withUnsafeMutableBytes {
                        request.writeHTTP1(
                            source: UnsafeRawBufferPointer(rebasing: source[..<request.used]), clientAddress: address, proto: "https",
                            chunkedBody: false, webSocketKey: key, into: $0)
                    }
                }
            }
        }
        let head = String(decoding: out[..<n!], as: UTF8.self)
        #expect(
            head.hasPrefix(
                "GET /chat?room=1 HTTP/1.1\r\nHost: example.test\r\nsec-websocket-version: 13\r\nsec-websocket-protocol: chat\r\n"),
            "\(head)")
        #expect(
            head.hasSuffix("Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"), "\(head)")
        #expect(!head.contains("Transfer-Encoding") && !head.contains("CONNECT"))
    }
}
