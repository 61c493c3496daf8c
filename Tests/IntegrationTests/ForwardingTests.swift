// A request through the proxy: status and body intact, X-Forwarded-* set, hop-by-hop fields removed both ways.
import Foundation
import Testing

extension Integration {
    @Suite("Forwarding")
    struct Forwarding {
        static let hopByHop = ["connection", "foo", "keep-alive", "te", "trailer", "upgrade", "proxy-connection"]

        @Test func getIsRelayedWithForwardedHeadersAndWithoutHopByHop() throws {
            let upstream = try TestUpstream { request in
                .text("hello from \(request.method) \(request.target)", headers: [HTTPField("X-Up", "1")])
            }
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream)) { proxy in
                let client = try proxy.client()
                let response = try client.get(
                    "/path/x?q=1&r=2", host: "example.test",
                    headers: [
                        HTTPField("Connection", "foo, keep-alive"),
                        HTTPField("Foo", "bar"),
                        HTTPField("Keep-Alive", "timeout=5"),
                        HTTPField("TE", "trailers"),
                        HTTPField("Trailer", "X-Checksum"),
                        HTTPField("Upgrade", "websocket"),
                        HTTPField("Proxy-Connection", "keep-alive"),
                        HTTPField("X-Forwarded-For", "10.0.0.1"),
                        HTTPField("X-Custom", "kept"),
                        HTTPField("User-Agent", "itest"),
                    ])
                #expect(response.status == 200)
                #expect(response.text == "hello from GET /path/x?q=1&r=2")
                #expect(response.headers["x-up"] == "1")

                let seen = try #require(upstream.requests.first)
                #expect(seen.method == "GET")
                #expect(seen.target == "/path/x?q=1&r=2")
                #expect(seen.headers["host"] != nil)
                #expect(seen.headers["x-custom"] == "kept")
                #expect(seen.headers["user-agent"] == "itest")
                // Appended: the client's own value first, then the peer the proxy saw.
                let forwardedFor = seen.headers.values("x-forwarded-for").flatMap { $0.split(separator: ",") }
                    .map { $0.trimmingCharacters(in: .whitespaces) }
                #expect(forwardedFor == ["10.0.0.1", "127.0.0.1"], "X-Forwarded-For: \(seen.headers.values("x-forwarded-for"))")
                #expect(seen.headers["x-forwarded-proto"] == "http")
                #expect(seen.headers["x-forwarded-host"] == "example.test")
                for name in Self.hopByHop where name != "connection" {
                    #expect(!seen.headers.has(name), "hop-by-hop \(name) reached the upstream: \(seen.headers)")
                }
                // The proxy may send its own `Connection: keep-alive` upstream, never the client's tokens.
                #expect(!seen.headers.tokens("connection").contains("foo"))
                #expect(seen.headers.tokens("connection").allSatisfy { $0 == "keep-alive" || $0 == "close" })

                // A request without X-Forwarded-For gets one with just the peer.
                let second = try client.get("/second", host: "other.test")
                #expect(second.status == 200)
                #expect(upstream.waitForRequests(2))
                let secondSeen = upstream.requests[1]
                #expect(secondSeen.headers.values("x-forwarded-for") == ["127.0.0.1"])
                #expect(secondSeen.headers["x-forwarded-host"] == "other.test")
            }
        }

        @Test func hopByHopResponseHeadersAreRemoved() throws {
            let upstream = try TestUpstream { _ in
                .respond(
                    UpstreamResponse(
                        headers: [
                            HTTPField("Connection", "x-private"),
                            HTTPField("X-Private", "secret"),
                            HTTPField("Keep-Alive", "timeout=30"),
                            HTTPField("Upgrade", "h2c"),
                            HTTPField("Proxy-Connection", "keep-alive"),
                            HTTPField("X-Public", "yes"),
                        ], body: .fixed("body".bytes)))
            }
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream)) { proxy in
                let client = try proxy.client()
                let response = try client.get("/")
                #expect(response.status == 200)
                #expect(response.text == "body")
                #expect(response.headers["x-public"] == "yes")
                for name in ["x-private", "keep-alive", "upgrade", "proxy-connection"] {
                    #expect(!response.headers.has(name), "\(name) relayed to the client: \(response.headers)")
                }
                #expect(!response.headers.tokens("connection").contains("x-private"))
                // Still usable afterwards.
                #expect(try client.get("/again").status == 200)
            }
        }

        @Test func postBodyWithContentLengthArrivesIntact() throws {
            let upstream = try TestUpstream { _ in .respond(UpstreamResponse(body: .echo(.contentLength(0)))) }
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream)) { proxy in
                let body = BodyPattern.bytes(count: 10_000)
                let response = try proxy.fetch(HTTPText.request("POST", "/submit", body: body))
                #expect(response.status == 200)
                #expect(byteDiff(response.body, body) == nil)
                let seen = try #require(upstream.requests.first)
                #expect(seen.headers["content-length"] == "10000")
                #expect(seen.bodyCount == 10_000 && seen.bodyMatchesPattern)
            }
        }
    }
}
