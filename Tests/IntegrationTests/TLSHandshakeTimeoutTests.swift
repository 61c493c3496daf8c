// timeouts.tlsHandshake: a client that never completes its TLS handshake is closed after it, whatever the header timeout.
import Foundation
import Testing

extension Integration {
    @Suite("TLS handshake timeout")
    struct TLSHandshakeTimeoutTests {
        @Test func aSilentTLSClientIsClosedAfterTheHandshakeTimeout() throws {
            let dir = try TempDir.make()
            defer { dir.remove() }
            let upstream = try TestUpstream(text: "ok\n")
            defer { upstream.stop() }
            let (config, tlsPort, _) = try ProxyConfig.single(
                primary: upstream, timeouts: ["tlsHandshake": "300ms", "requestHeader": "5s"]
            )
            .withTLSListener(in: dir)
            try withProxy(config) { _ in
                let client = try RawClient(port: tlsPort, timeout: 5)
                defer { client.close() }
                let started = Date()
                #expect(client.waitForPeer(timeout: 4) == .closed, "a client that never sent a ClientHello is still connected")
                let elapsed = Date().timeIntervalSince(started)
                #expect(elapsed >= 0.25 && elapsed < 3, "closed after \(elapsed) s with a 300ms handshake timeout and a 5s header timeout")
                // A real handshake within the bound is served.
                let ok = try ChildProcess.run(H2Tools.curl, ["-sk", "--http1.1", "--max-time", "5", "https://127.0.0.1:\(tlsPort)/"])
                #expect(ok.stdout == "ok\n", "\(ok.stderr)")
            }
        }
    }
}
