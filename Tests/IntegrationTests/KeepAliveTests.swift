// Connection reuse: keep-alive on both sides, pipelined requests, and pooled upstream connections gone stale.
import Foundation
import Testing

extension Integration {
    @Suite("Keep-alive and pipelining")
    struct KeepAlive {
        @Test func sequentialRequestsReuseOneClientAndFewUpstreamConnections() throws {
            let upstream = try TestUpstream { request in .text("n=\(request.target)") }
            defer { upstream.stop() }
            let threads = 2
            try withProxy(.single(primary: upstream), threads: threads) { proxy in
                let client = try proxy.client()
                for i in 0..<50 {
                    let response = try client.get("/\(i)")
                    #expect(response.status == 200)
                    #expect(response.text == "n=/\(i)")
                    #expect(!response.announcesClose, "response \(i) closes the client connection")
                }
                #expect(upstream.requestCount == 50)
                #expect(
                    upstream.distinctConnections <= threads,
                    "50 sequential requests used \(upstream.distinctConnections) upstream connections")
                #expect(client.waitForPeer(timeout: 0.1) == .open)
                #expect(try client.get("/after").status == 200)

                // Fresh client connections one after another still share the pooled upstream ones.
                for i in 0..<20 {
                    #expect(try proxy.fetch(HTTPText.request("GET", "/fresh\(i)")).status == 200)
                }
                #expect(
                    upstream.connectionCount <= threads,
                    "upstream accepted \(upstream.connectionCount) connections for sequential traffic")
            }
        }

        @Test func tenPipelinedRequestsInOneSendAnsweredInOrder() throws {
            let upstream = try TestUpstream { request in
                .text("\(request.method) \(request.target)")
            }
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream), threads: 1) { proxy in
                let client = try proxy.client()
                var batch: [UInt8] = []
                for i in 0..<10 {
                    if i == 3 || i == 7 {
                        batch += HTTPText.request("POST", "/p/\(i)", text: "body of \(i)")
                    } else if i == 5 {
                        batch += HTTPText.request(
                            "POST", "/p/\(i)", headers: [HTTPField("Transfer-Encoding", "chunked")],
                            body: HTTPText.chunked(["chunked ".bytes, "5".bytes]))
                    } else {
                        batch += HTTPText.request("GET", "/p/\(i)")
                    }
                }
                try client.send(batch)
                for i in 0..<10 {
                    let response = try client.readResponse()
                    #expect(response.status == 200)
                    let method = [3, 5, 7].contains(i) ? "POST" : "GET"
                    #expect(response.text == "\(method) /p/\(i)", "response \(i) out of order")
                }
                let seen = upstream.requests
                #expect(seen.map(\.target) == (0..<10).map { "/p/\($0)" })
                #expect(seen[3].bodyText == "body of 3")
                #expect(seen[5].bodyText == "chunked 5")
                #expect(client.waitForPeer(timeout: 0.1) == .open)
            }
        }

        /// The upstream keeps connections open only ~50 ms after each response (keep-alive advertised):
        /// a pooled connection is often dead or dying when reused. Every request must still succeed.
        @Test func staleUpstreamConnectionsAreDetectedOrRetried() throws {
            let upstream = try TestUpstream { request in
                .respond(
                    UpstreamResponse(
                        headers: [HTTPField("Connection", "keep-alive")],
                        body: .fixed("ok \(request.target)".bytes), after: .closeAfter(0.05)))
            }
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream), threads: 1) { proxy in
                let client = try proxy.client()
                // Long enough after the close: the proxy must notice the dead idle connection.
                for i in 0..<4 {
                    let response = try client.get("/late\(i)")
                    #expect(response.status == 200)
                    #expect(response.text == "ok /late\(i)")
                    usleep(200_000)
                }
                // Around the close: the request may be written to a connection the upstream never reads
                // again; the proxy must retry it once on a fresh connection.
                for (i, pause) in [0, 10, 30, 45, 50, 55, 70, 0, 0].enumerated() {
                    let response = try client.get("/race\(i)")
                    #expect(response.status == 200, "request \(i) after \(pause) ms: \(response.status) \(response.text)")
                    #expect(response.text == "ok /race\(i)")
                    usleep(UInt32(pause * 1000))
                }
            }
        }

        /// The upstream closes right after each response although it did not say so.
        @Test func upstreamClosingAfterEveryResponseStillServes() throws {
            let upstream = try TestUpstream { _ in .respond(UpstreamResponse(body: .fixed("ok".bytes), after: .close)) }
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream), threads: 1) { proxy in
                let client = try proxy.client()
                for i in 0..<10 {
                    let response = try client.get("/\(i)")
                    #expect(response.status == 200 && response.text == "ok", "request \(i): \(response.status)")
                    if i % 2 == 0 { usleep(30_000) }
                }
            }
        }
    }
}
