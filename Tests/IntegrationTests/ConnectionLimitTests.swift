// limits.maxConnections and listeners[].maxConnections: at the cap new connections wait in the backlog, and are served as room frees.
import Foundation
import Testing

extension Integration {
    @Suite("Connection limits")
    struct ConnectionLimitTests {
        /// A connection that has sent a head that never ends: it stays open, counted, until closed.
        private static func idle(on port: UInt16) throws -> RawClient {
            let client = try RawClient(port: port)
            try client.send("GET / HTTP/1.1\r\nHost: example.test\r\n")
            return client
        }

        private static func gauge(_ proxy: ProxyProcess, _ series: String) -> Double? {
            guard let metrics = try? proxy.admin("/metrics").text else { return nil }
            return DescriptorExhaustionTests.sample(metrics, series)
        }

        /// Sends a whole request; the proxy, at its cap, must not have answered it a while later.
        private static func waiting(on port: UInt16) throws -> RawClient {
            let client = try RawClient(port: port)
            try client.send(HTTPText.request("GET", "/"))
            #expect(client.waitForPeer(timeout: 0.5) == .open, "answered although the proxy is at its cap")
            return client
        }

        private static func expectServed(_ client: RawClient) throws {
            let response = try client.readResponse()
            #expect(response.status == 200)
            #expect(response.text == "served\n")
        }

        /// The cap counts the connections of every loop; the one over it is served once another closes.
        @Test func aConnectionOverTheProxyCapWaitsUntilAnotherCloses() throws {
            let upstream = try TestUpstream(text: "served\n")
            defer { upstream.stop() }
            try withProxy(ProxyConfig.single(primary: upstream, limits: ["maxConnections": 2]), threads: 2) { proxy in
                let first = try Self.idle(on: proxy.port), second = try Self.idle(on: proxy.port)
                defer { first.close(); second.close() }
                #expect(Posix.waitUntil(timeout: 5) { Self.gauge(proxy, "canarygate_listener_connections{listener=\"http\"}") == 2 })
                let third = try Self.waiting(on: proxy.port)
                #expect((Self.gauge(proxy, "canarygate_listener_limited_total{listener=\"http\"}") ?? 0) >= 1)
                #expect(Self.gauge(proxy, "canarygate_max_connections") == 2)
                first.close()
                try Self.expectServed(third)
                #expect(proxy.log.contains("listener http: connection limit reached (listener none, proxy 2)"), "\(proxy.log.prefix(3000))")
            }
        }

        /// A listener's own cap holds back its connections only.
        @Test func aListenerCapLeavesOtherListenersServing() throws {
            let upstream = try TestUpstream(text: "served\n")
            defer { upstream.stop() }
            var capped = ListenerSpec("capped", port: try Posix.freePort())
            capped.maxConnections = 1
            let config = ProxyConfig(routes: [RouteSpec(primary: ArmSpec("v1", upstream))], extraListeners: [capped])
            try withProxy(config, threads: 1) { proxy in
                let held = try Self.idle(on: capped.port)
                defer { held.close() }
                #expect(Posix.waitUntil(timeout: 5) { Self.gauge(proxy, "canarygate_listener_connections{listener=\"capped\"}") == 1 })
                let waiting = try Self.waiting(on: capped.port)
                let other = try proxy.fetch(HTTPText.request("GET", "/"))
                #expect(other.status == 200, "the http listener has no cap of its own")
                #expect(Self.gauge(proxy, "canarygate_listener_limited_total{listener=\"capped\"}").map { $0 >= 1 } == true)
                #expect(Self.gauge(proxy, "canarygate_listener_limited_total{listener=\"http\"}") == 0)
                held.close()
                try Self.expectServed(waiting)
            }
        }

        /// A reload that raises the cap lets the waiting connections in.
        @Test func aReloadRaisingTheCapServesTheWaitingConnection() throws {
            let upstream = try TestUpstream(text: "served\n")
            defer { upstream.stop() }
            try withProxy(ProxyConfig.single(primary: upstream, limits: ["maxConnections": 1]), threads: 1) { proxy in
                let held = try Self.idle(on: proxy.port)
                defer { held.close() }
                #expect(Posix.waitUntil(timeout: 5) { Self.gauge(proxy, "canarygate_listener_connections{listener=\"http\"}") == 1 })
                let waiting = try Self.waiting(on: proxy.port)
                try proxy.rewriteConfig(ProxyConfig.single(primary: upstream, limits: ["maxConnections": 5]))
                #expect(try proxy.reloadBySignal().lastError == nil)
                try Self.expectServed(waiting)
                #expect(Self.gauge(proxy, "canarygate_max_connections") == 5)
            }
        }
    }
}
