// Upstream failures as the client sees them: 502 (refused, reset, invalid), 504, 404.
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension Integration {
    @Suite("Upstream errors")
    struct UpstreamErrors {
        /// The proxy's own error responses: the status, and a short text/plain body naming the reason.
        static func expectError(
            _ response: ClientResponse, _ status: Int, _ context: String,
            sourceLocation: SourceLocation = #_sourceLocation
        ) {
            #expect(
                response.status == status, "\(context): got \(response.status) \(response.text)",
                sourceLocation: sourceLocation)
            #expect(
                response.headers["content-type"]?.lowercased().hasPrefix("text/plain") == true,
                "\(context): content-type \(response.headers["content-type"] ?? "none")", sourceLocation: sourceLocation)
            #expect(
                !response.body.isEmpty && response.body.count < 1024, "\(context): body \(response.text.debugDescription)",
                sourceLocation: sourceLocation)
        }

        @Test func refusedConnectIs502AndTheEndpointIsUsedAgainOnceItIsBack() throws {
            let closedPort = try Posix.freePort()
            try withProxy(.single(primaryEndpoints: ["127.0.0.1:\(closedPort)"]), threads: 1) { proxy in
                // Refused, retried once on the arm's only endpoint, refused again.
                Self.expectError(try proxy.fetch(HTTPText.request()), 502, "connect refused")
                // An arm's last endpoint is never out of rotation: still a 502, never the proxy's 503.
                Self.expectError(try proxy.fetch(HTTPText.request()), 502, "connect refused again")

                let revived = try TestUpstream(port: closedPort, text: "back")
                defer { revived.stop() }
                let response = try proxy.fetch(HTTPText.request())
                #expect(response.status == 200 && response.text == "back", "\(response.status) \(response.text)")
            }
        }

        @Test func downEndpointIsSkippedWhenTheArmHasAnother() throws {
            let closedPort = try Posix.freePort()
            let live = try TestUpstream(text: "live")
            defer { live.stop() }
            let config = ProxyConfig.single(primaryEndpoints: ["127.0.0.1:\(closedPort)", live.endpoint])
            try withProxy(config, threads: 1) { proxy in
                var statuses: [Int] = []
                for _ in 0..<10 { statuses.append(try proxy.fetch(HTTPText.request()).status) }
                // Attempts on the dead endpoint are retried on the live one, until it is ejected.
                #expect(statuses.allSatisfy { $0 == 200 }, "statuses: \(statuses)")
            }
        }

        @Test func slowUpstreamIs504AfterTheResponseTimeout() throws {
            let upstream = try TestUpstream { _ in .respond(UpstreamResponse(body: .fixed("late".bytes), delay: 3)) }
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream, timeouts: ["upstreamResponse": "300ms"])) { proxy in
                let started = Date()
                Self.expectError(try proxy.fetch(HTTPText.request()), 504, "upstream response timeout")
                let elapsed = Date().timeIntervalSince(started)
                #expect(elapsed >= 0.25 && elapsed < 2.5, "504 after \(elapsed) s with a 300ms timeout")
                #expect(upstream.requestCount == 1)
            }
        }

        /// A listener whose accept queue is full drops SYNs, so a connect to it hangs: the proxy's
        /// connect timeout must fire.
        @Test func hangingConnectIs504AfterTheConnectTimeout() throws {
            let (listenFD, port) = try Posix.listen(port: 0, backlog: 0)
            var fillers: [Int32] = []
            defer { fillers.forEach { close($0) }; close(listenFD) }
            for _ in 0..<4 { fillers.append(try Posix.connectNonBlocking(port: port)) }
            usleep(50_000)
            // Prove the trick works on this kernel before blaming the proxy.
            #expect(throws: SocketError.self) { close(try Posix.connect(port: port, timeout: 0.3)) }

            let config = ProxyConfig.single(
                primaryEndpoints: ["127.0.0.1:\(port)"],
                timeouts: ["upstreamConnect": "300ms", "upstreamResponse": "10s"])
            try withProxy(config, threads: 1) { proxy in
                let started = Date()
                Self.expectError(try proxy.fetch(HTTPText.request()), 504, "upstream connect timeout")
                let elapsed = Date().timeIntervalSince(started)
                #expect(elapsed >= 0.25 && elapsed < 2.5, "504 after \(elapsed) s with a 300ms connect timeout")
            }
        }

        @Test func resetByUpstreamIs502() throws {
            let upstream = try TestUpstream { _ in .reset }
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream)) { proxy in
                Self.expectError(try proxy.fetch(HTTPText.request()), 502, "upstream reset")
            }
        }

        @Test func upstreamClosingWithoutAResponseIs502() throws {
            let upstream = try TestUpstream { _ in .close }
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream)) { proxy in
                let response = try proxy.fetch(HTTPText.request())
                // A retry on a fresh connection (the request may be retried once) gets the same close.
                Self.expectError(response, 502, "upstream closed without responding")
            }
        }

        @Test(arguments: [
            "NOT HTTP AT ALL\r\n\r\n",
            "HTTP/1.1 abc OK\r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
            "HTTP/1.1 200 OK\r\nContent-Length: five\r\n\r\nhello",
            "HTTP/1.1 200 OK\r\nBad Header\r\n\r\n",
        ])
        func invalidUpstreamResponseIs502(garbage: String) throws {
            let upstream = try TestUpstream { _ in .raw(garbage.bytes) }
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream)) { proxy in
                Self.expectError(try proxy.fetch(HTTPText.request()), 502, "invalid response \(garbage.debugDescription)")
            }
        }

        @Test func noMatchingRouteIs404() throws {
            let upstream = try TestUpstream(text: "should not be reached")
            defer { upstream.stop() }
            let config = ProxyConfig(routes: [
                RouteSpec("only", host: "only.example", primary: ArmSpec("v1", upstream)),
                RouteSpec("api", host: "api.example", pathPrefix: "/api", primary: ArmSpec("v1", upstream)),
            ])
            try withProxy(config) { proxy in
                Self.expectError(try proxy.fetch(HTTPText.request("GET", "/", host: "other.example")), 404, "host mismatch")
                Self.expectError(try proxy.fetch(HTTPText.request("GET", "/web", host: "api.example")), 404, "path mismatch")
                #expect(try proxy.fetch(HTTPText.request("GET", "/", host: "only.example")).status == 200)
                #expect(upstream.requestCount == 1)
            }
        }
    }
}
