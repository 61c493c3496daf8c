// Ambiguous or malformed requests are refused with the right status and never reach an upstream.
import Foundation
import Testing

extension Integration {
    @Suite("Malformed requests")
    struct MalformedRequests {
        struct Case: Sendable, CustomStringConvertible {
            var name: String
            var bytes: [UInt8]
            /// Acceptable statuses (one, except where the RFCs leave a choice).
            var statuses: Set<Int>
            var description: String { name }

            init(_ name: String, _ head: String, _ statuses: Set<Int>) {
                self.name = name; self.bytes = head.bytes; self.statuses = statuses
            }
            init(_ name: String, bytes: [UInt8], _ statuses: Set<Int>) {
                self.name = name; self.bytes = bytes; self.statuses = statuses
            }
        }

        static let limits = ["maxHeaderBytes": 8192, "maxHeaderCount": 20]

        static let cases: [Case] = [
            Case(
                "CL and TE together",
                "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", [400]),
            Case("non-numeric Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: abc\r\n\r\n", [400]),
            Case("negative Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", [400]),
            Case("signed Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello", [400]),
            Case(
                "differing Content-Lengths",
                "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", [400]),
            Case("differing Content-Length list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\nhello!", [400]),
            Case("obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX-Folded: one\r\n two\r\n\r\n", [400]),
            Case("missing Host on HTTP/1.1", "GET / HTTP/1.1\r\nX-A: b\r\n\r\n", [400]),
            Case("duplicate Host", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", [400]),
            Case("space before colon", "GET / HTTP/1.1\r\nHost: a\r\nX-Space : b\r\n\r\n", [400]),
            Case("NUL in a value", "GET / HTTP/1.1\r\nHost: a\r\nX-Nul: b\u{0}c\r\n\r\n", [400]),
            Case("bare CR in a value", "GET / HTTP/1.1\r\nHost: a\r\nX-Cr: b\rc\r\n\r\n", [400]),
            Case("invalid header name", "GET / HTTP/1.1\r\nHost: a\r\nX(Bad): b\r\n\r\n", [400]),
            Case("invalid method token", "GE(T / HTTP/1.1\r\nHost: a\r\n\r\n", [400]),
            Case("extra space in request line", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", [400]),
            Case("garbage request line", "HELLO\r\nHost: a\r\n\r\n", [400]),
            Case(
                "head over maxHeaderBytes",
                "GET / HTTP/1.1\r\nHost: a\r\nX-Big: \(String(repeating: "b", count: 10_000))\r\n\r\n", [431]),
            Case(
                "more fields than maxHeaderCount",
                "GET / HTTP/1.1\r\nHost: a\r\n" + (0..<30).map { "X-F\($0): v\r\n" }.joined() + "\r\n", [431]),
            Case(
                "unknown transfer coding", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: x-unknown, chunked\r\n\r\n0\r\n\r\n",
                [501]),
            // chunked not final: RFC 9112 §6.3 says 400; an implementation that does not know gzip may say 501.
            Case("final coding not chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", [400, 501]),
            Case("chunked twice", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", [400]),
        ]

        @Test func eachIsRefusedAndNeverReachesTheUpstream() throws {
            let upstream = try TestUpstream(text: "must not be reached")
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream, limits: Self.limits)) { proxy in
                for testCase in Self.cases {
                    let client = try proxy.client(timeout: 3)
                    defer { client.close() }
                    do {
                        try client.send(testCase.bytes)
                        let response = try client.readResponse()
                        #expect(
                            testCase.statuses.contains(response.status),
                            "\(testCase): got \(response.status) \(response.text.prefix(100).debugDescription), want \(testCase.statuses.sorted())"
                        )
                        if response.status != 200 {
                            // After refusing a message it cannot frame, the proxy must not read on.
                            #expect(client.waitForPeer(timeout: 3) == .closed, "\(testCase): connection left open")
                        }
                    } catch {
                        Issue.record("\(testCase): no response (\(error))")
                    }
                    #expect(upstream.requestCount == 0, "\(testCase) reached the upstream: \(upstream.requests.last?.headers ?? [])")
                }
                // Control: the same proxy forwards a well-formed request, so the zero above means something.
                #expect(try proxy.fetch(HTTPText.request("GET", "/", host: "a")).status == 200)
                #expect(upstream.requestCount == 1)
            }
        }

        /// A body whose chunk framing breaks mid-way: the head may already be upstream, but the client
        /// must get an error (not a 2xx) and the connection must end.
        @Test func badChunkSizeEndsTheExchange() throws {
            let upstream = try TestUpstream { _ in .respond(UpstreamResponse(body: .echo(.contentLength(0)))) }
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream)) { proxy in
                let client = try proxy.client(timeout: 3)
                try client.send("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\nxx\r\n0\r\n\r\n")
                if let response = try? client.readFinalResponse().final {
                    #expect(!(200..<300).contains(response.status), "bad chunk size answered \(response.status)")
                }
                #expect(client.waitForPeer(timeout: 3) == .closed)
                // Whatever reached the upstream must not look like a complete, valid request.
                #expect(upstream.requests.allSatisfy { !$0.complete }, "\(upstream.requests)")
            }
        }
    }
}
