// Which requests ask for a relayed protocol switch, and the exact upgrade heads the writer produces.

@testable import HTTP
import Testing

@Suite("Upgrade rules")
struct UpgradeRulesTests {
    private func upgrade(_ text: String) -> Bool {
        let (result, head) = parseRequest(text)
        #expect(result == .complete, "\(result)")
        return head.upgrade
    }

    @Test func aWebSocketHandshakeAsksForATunnel() {
        #expect(upgrade("GET /chat HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"))
    }

    @Test func theUpgradeOptionMayBeOneOfSeveralInAnyCase() {
        #expect(upgrade("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, UPGRADE\r\nUpgrade: websocket\r\n\r\n"))
    }

    @Test func withoutTheConnectionOptionUpgradeIsIgnored() {
        #expect(!upgrade("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n"))
    }

    @Test func withoutAnUpgradeFieldThereIsNothingToSwitchTo() {
        #expect(!upgrade("GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n\r\n"))
        #expect(!upgrade("GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: \r\n\r\n"))
    }

    @Test func h2cIsNeverRelayedEvenAmongOtherProtocols() {
        #expect(!upgrade("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AA\r\n\r\n"))
        #expect(!upgrade("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket, H2C/1\r\n\r\n"))
        #expect(upgrade("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: h2cx\r\n\r\n"))
    }

    @Test func anHTTP10RequestCannotUpgrade() {
        #expect(!upgrade("GET / HTTP/1.0\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n"))
    }

    @Test func aRequestWithABodyIsNotSwitched() {
        #expect(!upgrade("POST / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket\r\nContent-Length: 3\r\n\r\n"))
        #expect(!upgrade("GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket\r\nTransfer-Encoding: chunked\r\n\r\n"))
    }

    /// Some clients declare the handshake's empty content: no body, so the switch is relayed as without it.
    @Test func aDeclaredEmptyBodyIsNoBody() {
        #expect(upgrade("GET /chat HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nContent-Length: 0\r\n\r\n"))
    }

    @Test func theUpgradeRequestGoesUpstreamWithConnectionUpgradeAndItsUpgradeFields() {
        let raw = bytes(
            "GET /chat HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: k\r\n\r\n")
        let (_, head) = parseRequest(raw)
        var out = [UInt8](repeating: 0, count: 4096)
        let client = bytes("10.0.0.9")
        let n = raw.withUnsafeBytes { source in
            client.withUnsafeBytes { address in
                out.withUnsafeMutableBytes {
                    HeadWriter.writeRequest(head, source: source, clientAddress: address, proto: "http", upgrade: true, into: $0)
                }
            }
        }
        let text = String(decoding: out[..<n!], as: UTF8.self)
        #expect(text.hasPrefix("GET /chat HTTP/1.1\r\nHost: a\r\nSec-WebSocket-Key: k\r\n"), "\(text)")
        #expect(text.hasSuffix("Connection: upgrade\r\nUpgrade: websocket\r\n\r\n"), "\(text)")
        #expect(!text.contains("keep-alive"))
    }

    @Test func the101GoesToTheClientWithItsUpgradeFields() {
        let raw = bytes("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n")
        let (result, head) = parseResponse(raw)
        #expect(result == .complete)
        var out = [UInt8](repeating: 0, count: 4096)
        let n = raw.withUnsafeBytes { source in
            out.withUnsafeMutableBytes {
                HeadWriter.writeResponse(head, source: source, chunked: false, connection: .upgrade, into: $0)
            }
        }
        #expect(
            String(decoding: out[..<n!], as: UTF8.self)
                == "HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: x\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n")
    }
}
