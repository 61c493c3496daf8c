// A reload that removes a listener sends GOAWAY to its HTTP/2 connections: the stream in flight finishes, then the connection closes.
import Foundation
import Testing

extension Integration {
    @Suite("HTTP/2 and reload")
    struct HTTP2ReloadTests {
        @Test func removingAListenerSendsGoawayToItsConnectionsAndFinishesTheirStreams() throws {
            let upstream = try H2Upstream.make()
            defer { upstream.stop() }
            let extraPort = try Posix.freePort()
            var config = ProxyConfig.single(primary: upstream)
            config.extraListeners = [ListenerSpec("h2c", port: extraPort)]
            try withProxy(config) { proxy in
                let client = try H2Client("drain", port: extraPort, ["--path", "/slow", "--close-timeout", "5"])
                guard upstream.waitForRequests(1, timeout: 5) else {
                    Issue.record("the slow request never reached the upstream: \(client.finish())")
                    return
                }
                config.extraListeners = []
                try proxy.rewriteConfig(config)
                let state = try proxy.reloadBySignal()
                #expect(state.lastError == nil)
                let run = client.finish()
                try #require(run.ok, "\(run)")
                #expect(!run.goaways.isEmpty && run.goaways.allSatisfy { $0.error == "NO_ERROR" && $0.lastStreamID >= 1 }, "\(run.goaways)")
                let inflight = try #require(run.stream("inflight"))
                #expect(inflight.succeeded() && inflight.body == "slow done", "\(inflight)")
                #expect(run.peerClosed, "the connection of the removed listener stayed open: \(run)")
                // The proxy itself carries on on its remaining listener.
                let response = try proxy.fetch(Array("GET /after HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
                #expect(response.status == 200)
            }
        }
    }
}
