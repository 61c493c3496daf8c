// The harness checked against itself (client straight to test upstream, no proxy), so a proxy failure is a proxy bug.
import Foundation
import Testing

extension Integration {
    @Suite("Harness self-check")
    struct Harness {
        @Test func fixedBodiesKeepAliveOnOneConnection() throws {
            let upstream = try TestUpstream { request in .text("path=\(request.target)") }
            defer { upstream.stop() }
            let client = try RawClient(port: upstream.port)
            for i in 0..<3 {
                let response = try client.get("/r\(i)")
                #expect(response.status == 200)
                #expect(response.text == "path=/r\(i)")
            }
            #expect(upstream.distinctConnections == 1)
            #expect(upstream.requests.map(\.indexOnConnection) == [1, 2, 3])
        }

        @Test func chunkedCloseDelimitedAndPatternBodies() throws {
            let upstream = try TestUpstream { request in
                switch request.path {
                case "/chunked": return .respond(UpstreamResponse(body: .chunked(["ab".bytes, "cde".bytes])))
                case "/close": return .respond(UpstreamResponse(body: .closeDelimited("until the end".bytes)))
                default: return .respond(UpstreamResponse(body: .pattern(count: 3_000_000, chunked: request.path == "/pc")))
                }
            }
            defer { upstream.stop() }
            let client = try RawClient(port: upstream.port)
            let chunked = try client.get("/chunked")
            #expect(chunked.framing == .chunked)
            #expect(chunked.text == "abcde")
            for path in ["/p", "/pc"] {
                var verifier = PatternVerifier()
                try client.send(HTTPText.request("GET", path))
                let big = try client.readResponse { verifier.consume($0) }
                #expect(big.status == 200)
                #expect(verifier.count == 3_000_000 && verifier.intact, "\(verifier.summary)")
            }
            let close = try client.get("/close")
            #expect(close.framing == .untilClose)
            #expect(close.text == "until the end")
            #expect(client.waitForPeer(timeout: 1) == .closed)
        }

        @Test func uploadsEchoAndContinue() throws {
            let upstream = try TestUpstream { request in
                .respond(UpstreamResponse(body: .echo(request.path == "/cl" ? .contentLength(0) : .chunked)))
            }
            defer { upstream.stop() }
            let client = try RawClient(port: upstream.port)
            let chunkedUpload = HTTPText.request(
                "POST", "/chunked", headers: [HTTPField("Transfer-Encoding", "chunked")],
                body: HTTPText.chunked(["hello ".bytes, "world".bytes]))
            let echoed = try client.exchange(chunkedUpload)
            #expect(echoed.text == "hello world")
            #expect(echoed.framing == .chunked)

            try client.send(
                HTTPText.request(
                    "POST", "/cl",
                    headers: [
                        HTTPField("Expect", "100-continue"),
                        HTTPField("Content-Length", "4"),
                    ]))
            let interim = try client.readResponse()
            #expect(interim.status == 100)
            try client.send("data")
            let final = try client.readResponse()
            #expect(final.status == 200 && final.text == "data")
            #expect(upstream.requests.map(\.bodyCount) == [11, 4])

            try client.send(HTTPText.request("POST", "/pattern", headers: [HTTPField("Transfer-Encoding", "chunked")]))
            var verifier = PatternVerifier()
            try client.sendPattern(count: 300_000, chunked: true, piece: 10_000)
            _ = try client.readResponse { verifier.consume($0) }
            #expect(verifier.count == 300_000 && verifier.intact)
            #expect(upstream.requests.last?.bodyMatchesPattern == true)
        }

        @Test func faultsResetGarbageAndStaleClose() throws {
            let upstream = try TestUpstream { request in
                switch request.path {
                case "/reset": return .reset
                case "/garbage": return .raw("SPLAT\r\n\r\n".bytes)
                default: return .respond(UpstreamResponse(body: .fixed("ok".bytes), after: .closeAfter(0.05)))
                }
            }
            defer { upstream.stop() }
            let reset = try RawClient(port: upstream.port)
            try reset.send(HTTPText.request("GET", "/reset"))
            #expect(reset.waitForPeer(timeout: 2) == .closed)

            let garbage = try RawClient(port: upstream.port)
            #expect(throws: WireError.self) { try garbage.get("/garbage") }

            let stale = try RawClient(port: upstream.port)
            #expect(try stale.get("/stale").text == "ok")
            let started = Date()
            #expect(stale.waitForPeer(timeout: 2) == .closed)
            #expect(Date().timeIntervalSince(started) < 1)
        }

        @Test func pipelinedRequestsAnsweredInOrder() throws {
            let upstream = try TestUpstream { request in .text(request.target) }
            defer { upstream.stop() }
            let client = try RawClient(port: upstream.port)
            try client.send((0..<5).flatMap { HTTPText.request("GET", "/\($0)") })
            for i in 0..<5 { #expect(try client.readResponse().text == "/\(i)") }
        }

        @Test func stopReturnsPromptlyWithOpenAndBusyConnections() throws {
            let upstream = try TestUpstream { _ in .respond(UpstreamResponse(body: .fixed([]), delay: 30)) }
            let idle = try RawClient(port: upstream.port)
            let busy = try RawClient(port: upstream.port)
            try busy.send(HTTPText.request())
            #expect(upstream.waitForRequests(1))
            let started = Date()
            upstream.stop()
            #expect(Date().timeIntervalSince(started) < 2)
            _ = idle
        }
    }
}
