// WebSocket through the proxy: a 101 turns the exchange into a byte tunnel (HTTP/1.1), an extended CONNECT does over HTTP/2.
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension Integration {
    @Suite("WebSocket and Upgrade")
    struct WebSocketTunnel {
        static let key = "dGhlIHNhbXBsZSBub25jZQ=="
        /// RFC 6455 §1.3's example: the accept value for `key`.
        static let accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

        static func route(_ primary: WebSocketBackend, canary: WebSocketBackend? = nil, weight: Int = 0) -> RouteSpec {
            RouteSpec(
                primary: ArmSpec("v1", [primary.endpoint]), canary: canary.map { ArmSpec("v2", [$0.endpoint]) }, weight: weight)
        }

        static func config(
            _ primary: WebSocketBackend, canary: WebSocketBackend? = nil, weight: Int = 0, timeouts: [String: String] = [:]
        )
            -> ProxyConfig
        {
            ProxyConfig(routes: [route(primary, canary: canary, weight: weight)], timeouts: timeouts)
        }

        static func metric(_ metrics: PromText, _ name: String, arm: String, code: String? = nil) -> Double {
            var labels = ["route": "web", "arm": arm]
            if let code { labels["code"] = code }
            return metrics.value(name, labels) ?? 0
        }

        /// Handshake through the proxy, checked: 101 with the upstream's accept and the upgrade fields.
        static func open(_ proxy: ProxyProcess) throws -> (WebSocketClient, [HTTPField]) {
            let client = try WebSocketClient(port: proxy.port)
            let (status, fields) = try client.handshake(key: key)
            #expect(status == 101, "\(status) \(fields)")
            #expect(fields["sec-websocket-accept"] == accept)
            #expect(fields.tokens("connection").map { $0.lowercased() } == ["upgrade"], "\(fields)")
            #expect(fields["upgrade"]?.lowercased() == "websocket")
            return (client, fields)
        }

        @Test func echoOverHTTP1IncludingALargeMessageAndTheClosingHandshake() throws {
            let backend = try WebSocketBackend(name: "v1")
            defer { backend.stop() }
            try withProxy(Self.config(backend)) { proxy in
                let (client, fields) = try Self.open(proxy)
                // The upstream saw the upgrade: Connection names it, Upgrade went on.
                #expect(fields["x-seen-connection"]?.lowercased() == "upgrade", "\(fields)")
                #expect(fields["x-seen-upgrade"] == "websocket")
                #expect(
                    try client.echo(WebSocketFrame.text, Array("hello".utf8))
                        == WebSocketFrame(opcode: WebSocketFrame.text, payload: Array("hello".utf8)))
                let large = (0..<(200 * 1024)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 9) }
                let echoed = try client.echo(WebSocketFrame.binary, large)
                #expect(echoed.opcode == WebSocketFrame.binary && echoed.payload.count == large.count && echoed.payload == large)
                let ping = try client.echo(WebSocketFrame.ping, [1, 2, 3])
                #expect(ping == WebSocketFrame(opcode: WebSocketFrame.pong, payload: [1, 2, 3]))
                // Close: the upstream echoes it and ends its side; the proxy passes the end on.
                let close = try client.echo(WebSocketFrame.close, [0x03, 0xE8])
                #expect(close == WebSocketFrame(opcode: WebSocketFrame.close, payload: [0x03, 0xE8]))
                #expect(client.waitForClose(timeout: 3), "the tunnel stays open after the upstream closed")
                client.close()

                let metrics = try Metrics.scrape(proxy) { Self.metric($0, "canarygate_tunnel_duration_seconds_count", arm: "primary") == 1 }
                #expect(Self.metric(metrics, "canarygate_requests_total", arm: "primary", code: "101") == 1)
                #expect(Self.metric(metrics, "canarygate_tunnel_duration_seconds_count", arm: "primary") == 1)
                #expect(Self.metric(metrics, "canarygate_tunnel_duration_seconds_sum", arm: "primary") > 0)
                #expect(Self.metric(metrics, "canarygate_tunnels_active", arm: "primary") == 0)
                #expect(Self.metric(metrics, "canarygate_requests_in_flight", arm: "primary") == 0)
            }
        }

        /// Some clients declare the handshake's empty content: it is no body, and the upgrade goes on.
        @Test func aHandshakeWithContentLengthZeroIsTunnelled() throws {
            let backend = try WebSocketBackend(name: "v1")
            defer { backend.stop() }
            try withProxy(Self.config(backend)) { proxy in
                let client = try WebSocketClient(port: proxy.port)
                let (status, fields) = try client.handshake(key: Self.key, extraFields: "Content-Length: 0\r\n")
                #expect(status == 101, "\(status) \(fields)")
                #expect(fields["x-seen-upgrade"] == "websocket")
                #expect(
                    try client.echo(WebSocketFrame.text, Array("hello".utf8))
                        == WebSocketFrame(opcode: WebSocketFrame.text, payload: Array("hello".utf8)))
                client.close()
            }
        }

        @Test func theArmIsFixedAtTheUpgradeAndCountedOnceWithA101() throws {
            let primary = try WebSocketBackend(name: "v1")
            defer { primary.stop() }
            let canary = try WebSocketBackend(name: "v2")
            defer { canary.stop() }
            try withProxy(Self.config(primary, canary: canary, weight: 100)) { proxy in
                let (client, fields) = try Self.open(proxy)
                #expect(fields["x-upstream"] == "v2")
                for i in 0..<20 {
                    let message = Array("message \(i)".utf8)
                    #expect(try client.echo(WebSocketFrame.text, message).payload == message)
                }
                let open = try Metrics.scrape(proxy) { Self.metric($0, "canarygate_tunnels_active", arm: "canary") == 1 }
                #expect(Self.metric(open, "canarygate_tunnels_active", arm: "canary") == 1)
                #expect(Self.metric(open, "canarygate_requests_total", arm: "canary", code: "101") == 1)
                #expect(open.sum("canarygate_requests_total", ["arm": "primary"]) == 0)
                #expect(Self.metric(open, "canarygate_request_duration_seconds_count", arm: "canary") == 1)
                client.shutdownWrite()
                #expect(client.waitForClose(timeout: 3), "a half-close from the client does not end the tunnel")
                let closed = try Metrics.scrape(proxy) { Self.metric($0, "canarygate_tunnels_active", arm: "canary") == 0 }
                #expect(Self.metric(closed, "canarygate_tunnel_duration_seconds_count", arm: "canary") == 1)
                #expect(Self.metric(closed, "canarygate_requests_total", arm: "canary", code: "101") == 1)
            }
        }

        @Test func aStickyRoutesUpgradeCarriesItsArmsCookieOnThe101() throws {
            let primary = try WebSocketBackend(name: "v1")
            defer { primary.stop() }
            let canary = try WebSocketBackend(name: "v2")
            defer { canary.stop() }
            var route = Self.route(primary, canary: canary, weight: 100)
            route.sessionAffinity = "{ cookieName: cg }"
            try withProxy(ProxyConfig(routes: [route])) { proxy in
                let (client, fields) = try Self.open(proxy)
                defer { client.close() }
                #expect(fields["x-upstream"] == "v2")
                // A new client on the canary: pinned there by `cg` (the primary's cookie it never had).
                let cookies = fields.filter { $0.name.lowercased() == "set-cookie" }.map(\.value)
                #expect(cookies.count == 1 && cookies[0].hasPrefix("cg=v1."), "\(fields)")
                #expect(try client.echo(WebSocketFrame.text, Array("pinned".utf8)).payload == Array("pinned".utf8))
            }
        }

        @Test func anUpgradeTheUpstreamRefusesIsAnOrdinaryResponseOnAUsableConnection() throws {
            let backend = try WebSocketBackend(name: "v1")
            defer { backend.stop() }
            try withProxy(Self.config(backend)) { proxy in
                let client = try WebSocketClient(port: proxy.port)
                let refused = try client.handshake(path: "/refuse", key: Self.key)
                #expect(refused.status == 400)
                #expect(
                    String(decoding: try client.readBody(Int(refused.fields["content-length"] ?? "0") ?? 0), as: UTF8.self) == "refused v1")
                let plain = try client.handshake(path: "/", upgrade: false)
                #expect(plain.status == 200)
                #expect(String(decoding: try client.readBody(Int(plain.fields["content-length"] ?? "0") ?? 0), as: UTF8.self) == "plain v1")
                let metrics = try Metrics.scrape(proxy) { Self.metric($0, "canarygate_requests_total", arm: "primary", code: "200") == 1 }
                #expect(Self.metric(metrics, "canarygate_requests_total", arm: "primary", code: "400") == 1)
                #expect(Self.metric(metrics, "canarygate_tunnels_active", arm: "primary") == 0)
            }
        }

        @Test func anIdleTunnelIsClosedAfterTheTunnelTimeoutAndABusyOneIsNot() throws {
            let backend = try WebSocketBackend(name: "v1")
            defer { backend.stop() }
            try withProxy(Self.config(backend, timeouts: ["tunnel": "300ms"])) { proxy in
                let (busy, _) = try Self.open(proxy)
                // Bytes every 100 ms for 600 ms: twice the timeout, never idle for it.
                for i in 0..<6 {
                    #expect(!busy.waitForClose(timeout: 0.1), "a tunnel with traffic was closed after \(i * 100) ms")
                    #expect(try busy.echo(WebSocketFrame.text, [UInt8(i)]).payload == [UInt8(i)])
                }
                let opened = Date()
                #expect(busy.waitForClose(timeout: 3), "the idle tunnel is still open 3 s later")
                let elapsed = Date().timeIntervalSince(opened)
                #expect(elapsed >= 0.25 && elapsed < 1.5, "closed \(elapsed) s after its last byte, want about 0.3 s")
            }
        }

        @Test func aDrainWaitsForATunnelUntilItsDeadlineThenClosesIt() throws {
            let backend = try WebSocketBackend(name: "v1")
            defer { backend.stop() }
            try withProxy(Self.config(backend, timeouts: ["drain": "700ms"])) { proxy in
                let (client, _) = try Self.open(proxy)
                #expect(try client.echo(WebSocketFrame.text, [1]).payload == [1])
                let signalled = Date()
                proxy.signal(SIGTERM)
                #expect(Posix.waitUntil(timeout: 1) { Posix.connectRefused(port: proxy.port) }, "no drain 1 s after SIGTERM")
                // A tunnel is not an idle keep-alive: it still carries bytes while the drain waits.
                #expect(try client.echo(WebSocketFrame.text, [2]).payload == [2])
                #expect(client.waitForClose(timeout: 3), "the tunnel outlived the drain deadline")
                let elapsed = Date().timeIntervalSince(signalled)
                #expect(elapsed >= 0.6 && elapsed < 2.5, "tunnel closed \(elapsed) s after SIGTERM, want the 700 ms deadline")
                #expect(proxy.waitForExit(timeout: 5) == 0)
            }
        }

        @Test func echoOverHTTP1OnATLSListener() throws {
            let dir = try TempDir.make()
            defer { dir.remove() }
            let backend = try WebSocketBackend(name: "v1")
            defer { backend.stop() }
            let (config, tlsPort, _) = try Self.config(backend).withTLSListener(in: dir)
            try withProxy(config) { _ in
                let script = URL(fileURLWithPath: Self.h2Script).deletingLastPathComponent().appendingPathComponent("ws_tls_client.py").path
                let run = try ChildProcess.run(H2Tools.python, ["-B", script, String(tlsPort)], timeout: 30)
                let json = try? JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
                let result = try #require(json, "ws_tls_client.py: \(run.stdout) \(run.stderr)")
                #expect(result["ok"] as? Bool == true, "\(result)")
                #expect(result["status"] as? Int == 101 && result["accepted"] as? Bool == true, "\(result)")
                #expect(
                    result["text"] as? Bool == true && result["large"] as? Bool == true && result["close"] as? Bool == true, "\(result)")
                #expect(result["ended"] as? Bool == true, "\(result)")
            }
        }

        @Test func echoOverHTTP1ToATLSUpstream() throws {
            let dir = try TempDir.make()
            defer { dir.remove() }
            let certificate = try makeTestCertificate("upstream.test", in: dir)
            let backend = try WebSocketBackend(name: "v1", tls: certificate)
            defer { backend.stop() }
            var arm = ArmSpec("v1", [backend.endpoint])
            arm.tls = ("upstream.test", certificate.certificate)
            try withProxy(ProxyConfig(routes: [RouteSpec(primary: arm)])) { proxy in
                let (client, _) = try Self.open(proxy)
                #expect(try client.echo(WebSocketFrame.text, Array("over tls".utf8)).payload == Array("over tls".utf8))
                let large = (0..<(200 * 1024)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
                #expect(try client.echo(WebSocketFrame.binary, large).payload == large)
                #expect(try client.echo(WebSocketFrame.close, [0x03, 0xE8]).opcode == WebSocketFrame.close)
                #expect(client.waitForClose(timeout: 3), "the upstream's close (close_notify, FIN) did not reach the client")
            }
        }

        // MARK: HTTP/2 extended CONNECT (RFC 8441)

        /// Run with `-B` (ws_tls_client.py too): both import ws_frames.py from Support/, and a run must not leave
        /// a __pycache__ in the source tree.
        static let h2Script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Support/ws_h2client.py").path

        /// Runs ws_h2client.py's `scenario` against the proxy; its JSON line.
        static func h2Client(_ proxy: ProxyProcess, _ scenario: String) throws -> [String: Any] {
            try H2Tools.requirePythonH2()
            let run = try ChildProcess.run(H2Tools.python, ["-B", h2Script, String(proxy.port), scenario], timeout: 30)
            let line = run.stdout.split(separator: "\n").last.map(String.init) ?? ""
            guard let json = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw ProxyError.badStatus(-1, "ws_h2client.py \(scenario): \(run.stdout) \(run.stderr)")
            }
            return json
        }

        /// An extended CONNECT is not resent after a failure, so it never takes an idle pooled connection
        /// (the upstream may have just closed it): one loop, a plain request pools a connection first.
        @Test func anHTTP2WebSocketOpensItsOwnUpstreamConnection() throws {
            let backend = try WebSocketBackend(name: "v1")
            defer { backend.stop() }
            try withProxy(Self.config(backend), threads: 1) { proxy in
                let plain = try proxy.client().get("/")
                #expect(plain.status == 200 && plain.text == "plain v1", "\(plain.status) \(plain.text)")
                let result = try Self.h2Client(proxy, "echo")
                #expect(result["ok"] as? Bool == true && result["status"] as? Int == 200, "\(result)")
                #expect(result["connectionRequest"] as? String == "1", "the WebSocket reused a pooled connection: \(result)")
            }
        }

        @Test func echoOverHTTP2WithExtendedConnect() throws {
            let backend = try WebSocketBackend(name: "v1")
            defer { backend.stop() }
            try withProxy(Self.config(backend)) { proxy in
                let result = try Self.h2Client(proxy, "echo")
                #expect(result["ok"] as? Bool == true, "\(result)")
                #expect(result["enableConnectProtocol"] as? Int == 1, "SETTINGS_ENABLE_CONNECT_PROTOCOL not advertised: \(result)")
                #expect(result["status"] as? Int == 200, "\(result)")
                #expect(result["upstream"] as? String == "v1")
                #expect(result["hasAccept"] as? Bool == false, "the HTTP/1.1 accept key leaked into the HTTP/2 response")
                #expect(
                    result["text"] as? Bool == true && result["large"] as? Bool == true && result["close"] as? Bool == true, "\(result)")
                #expect(result["ended"] as? Bool == true, "the upstream's close did not end the stream: \(result)")

                let metrics = try Metrics.scrape(proxy) { Self.metric($0, "canarygate_tunnel_duration_seconds_count", arm: "primary") == 1 }
                #expect(Self.metric(metrics, "canarygate_requests_total", arm: "primary", code: "200") == 1)
                #expect(Self.metric(metrics, "canarygate_tunnel_duration_seconds_count", arm: "primary") == 1)
                #expect(Self.metric(metrics, "canarygate_tunnels_active", arm: "primary") == 0)
            }
        }

        @Test(arguments: ["protocol", "plain"])
        func aConnectOtherThanAWebSocketIs501AndNeverReachesTheUpstream(scenario: String) throws {
            let backend = try WebSocketBackend(name: "v1")
            defer { backend.stop() }
            try withProxy(Self.config(backend)) { proxy in
                let result = try Self.h2Client(proxy, scenario)
                #expect(result["status"] as? Int == 501, "\(result)")
                let metrics = try Metrics.scrape(proxy)
                #expect(metrics.sum("canarygate_requests_total", ["route": "web"]) == 0, "a CONNECT was routed")
            }
        }

        @Test func overHTTP2AnUpgradeTheUpstreamRefusesIsRelayedAsItIs() throws {
            let backend = try WebSocketBackend(name: "v1")
            defer { backend.stop() }
            try withProxy(Self.config(backend)) { proxy in
                let result = try Self.h2Client(proxy, "refuse")
                #expect(result["status"] as? Int == 400 && result["upstream"] as? String == "v1", "\(result)")
                let metrics = try Metrics.scrape(proxy) { Self.metric($0, "canarygate_requests_total", arm: "primary", code: "400") == 1 }
                #expect(Self.metric(metrics, "canarygate_requests_total", arm: "primary", code: "400") == 1)
                #expect(Self.metric(metrics, "canarygate_tunnels_active", arm: "primary") == 0)
            }
        }

        @Test func overHTTP2AnIdleTunnelIsClosedAfterTheTunnelTimeout() throws {
            let backend = try WebSocketBackend(name: "v1")
            defer { backend.stop() }
            try withProxy(Self.config(backend, timeouts: ["tunnel": "300ms"])) { proxy in
                let result = try Self.h2Client(proxy, "idle")
                #expect(result["ok"] as? Bool == true && result["status"] as? Int == 200, "\(result)")
                let idle = result["idleSeconds"] as? Double ?? -1
                #expect(idle >= 0.25 && idle < 1.5, "the idle stream ended after \(idle) s, want about 0.3 s: \(result)")
                let metrics = try Metrics.scrape(proxy) { Self.metric($0, "canarygate_tunnel_duration_seconds_count", arm: "primary") == 1 }
                #expect(Self.metric(metrics, "canarygate_tunnel_duration_seconds_count", arm: "primary") == 1)
                #expect(Self.metric(metrics, "canarygate_tunnels_active", arm: "primary") == 0)
            }
        }

        @Test func aDrainWaitsForAnHTTP2TunnelUntilItsDeadline() throws {
            let backend = try WebSocketBackend(name: "v1")
            defer { backend.stop() }
            try H2Tools.requirePythonH2()
            let dir = try TempDir.make()
            defer { dir.remove() }
            try withProxy(Self.config(backend, timeouts: ["drain": "700ms"])) { proxy in
                let out = dir.url.appendingPathComponent("out").path
                let child = try ChildProcess(
                    path: H2Tools.python, arguments: ["-B", Self.h2Script, String(proxy.port), "drain"], stdoutPath: out)
                defer { _ = child.terminate(grace: 0) }
                let text = { (try? String(contentsOfFile: out, encoding: .utf8)) ?? "" }
                #expect(Posix.waitUntil(timeout: 10) { text().hasPrefix("open") || !child.isRunning }, "no tunnel: \(text())")
                proxy.signal(SIGTERM)
                #expect(child.wait(timeout: 10), "the client is still running 10 s after SIGTERM")
                let line = text().split(separator: "\n").last.map(String.init) ?? ""
                let result = try #require(try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(text())")
                #expect(result["ok"] as? Bool == true && result["echoWhileDraining"] as? Bool == true, "\(result)")
                let closed = result["closedAfterGoaway"] as? Double ?? -1
                #expect(closed >= 0.5 && closed < 2.5, "the tunnel closed \(closed) s after GOAWAY, want the 700 ms drain deadline")
                #expect(proxy.waitForExit(timeout: 5) == 0)
            }
        }

        @Test func aWebSocketForAnHTTP2ArmIs501FromTheProxy() throws {
            let upstream = try H2UpstreamProcess(name: "h2")
            defer { upstream.stop() }
            var primary = ArmSpec("v1", [upstream.endpoint])
            primary.upstreamProtocol = "h2"
            try withProxy(ProxyConfig(routes: [RouteSpec(primary: primary)])) { proxy in
                let result = try Self.h2Client(proxy, "echo")
                #expect(result["status"] as? Int == 501, "\(result)")
                #expect(result["upstream"] as? String == nil, "the h2 upstream answered: \(result)")
                // Answered before an arm was picked: the proxy's own 501 is no arm's response.
                let metrics = try Metrics.scrape(proxy)
                #expect(metrics.sum("canarygate_requests_total", ["route": "web"]) == 0, "the 501 was counted on an arm")
                #expect(metrics.sum("canarygate_requests_in_flight", ["route": "web"]) == 0)
            }
        }
    }
}
