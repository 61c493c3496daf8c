// What crosses the proxy in a chunked body's framing: chunk sizes bounded and re-written canonically, framing and routing trailers dropped.
import Foundation
import Testing

extension Integration {
    @Suite("Body framing as relayed")
    struct BodyFramingRelay {
        static let ok = Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok".utf8)

        // MARK: chunk sizes

        /// Sizes a signed 64-bit parser reads as negative or wrapped, and the first size past the bound.
        @Test(arguments: ["ffffffffffffffff", "8000000000000000", "FFFFFFFFFFFFFFF0", "80000000"])
        func oversizedChunkIsRefusedBeforeTheUpstream(size: String) throws {
            let upstream = try RawUpstream(response: Self.ok, isComplete: RawUpstream.chunkedComplete)
            defer { upstream.stop() }
            try withProxy(.single(primaryEndpoints: [upstream.endpoint])) { proxy in
                let client = try proxy.client(timeout: 3)
                // Head and size line in one send: refused before a byte goes upstream.
                try client.send(
                    HTTPText.request("POST", "/up", headers: [HTTPField("Transfer-Encoding", "chunked")])
                        + Array("\(size)\r\nabc".utf8))
                let response = try client.readResponse()
                #expect(response.status == 400, "\(size): \(response.status)")
                let sizeBytes = Array(size.utf8)
                for bytes in upstream.connections {
                    #expect(bytes.firstRange(of: sizeBytes) == nil, "the upstream saw the size \(size): \(bytes.text.debugDescription)")
                    #expect(bytes.isEmpty, "the upstream saw \(bytes.text.debugDescription)")
                }
            }
        }

        /// The head goes ahead of the body; a bad size that comes later still never reaches the upstream.
        @Test func oversizedChunkAfterTheHeadIsRefused() throws {
            let upstream = try RawUpstream(response: Self.ok, isComplete: RawUpstream.chunkedComplete)
            defer { upstream.stop() }
            try withProxy(.single(primaryEndpoints: [upstream.endpoint])) { proxy in
                let client = try proxy.client(timeout: 3)
                try client.send(
                    HTTPText.request("POST", "/up", headers: [HTTPField("Transfer-Encoding", "chunked")])
                        + Array("3\r\nabc\r\n".utf8))
                Thread.sleep(forTimeInterval: 0.2)  // lets the head and first chunk go upstream on their own
                try client.send("ffffffffffffffff\r\nxyz")
                let response = try client.readResponse()
                #expect(response.status == 400)
                #expect(Posix.waitUntil(timeout: 3) { upstream.connections.count == 1 })
                let seen = upstream.connections.first ?? []
                #expect(seen.firstRange(of: Array("ffff".utf8)) == nil, "relayed: \(seen.text.debugDescription)")
                #expect(RawUpstream.body(of: seen) == Array("3\r\nabc\r\n".utf8), "relayed: \(seen.text.debugDescription)")
            }
        }

        /// Leading zeros, extensions and the whitespace before them do not reach the upstream.
        @Test func chunkSizeLinesAreRelayedCanonically() throws {
            let upstream = try RawUpstream(response: Self.ok, isComplete: RawUpstream.chunkedComplete)
            defer { upstream.stop() }
            try withProxy(.single(primaryEndpoints: [upstream.endpoint])) { proxy in
                let client = try proxy.client(timeout: 3)
                try client.send(
                    HTTPText.request("POST", "/up", headers: [HTTPField("Transfer-Encoding", "chunked")])
                        + Array("0005;ext=\"a b\"\r\nhello\r\n00A \t;x\r\n0123456789\r\n000;last\r\nX-Ok: 1\r\n\r\n".utf8))
                let response = try client.readResponse()
                #expect(response.status == 200)
                let seen = upstream.connections.first ?? []
                #expect(
                    RawUpstream.body(of: seen).text == "5\r\nhello\r\na\r\n0123456789\r\n0\r\nX-Ok: 1\r\n\r\n",
                    "relayed: \(RawUpstream.body(of: seen).text.debugDescription)")
            }
        }

        @Test(arguments: ["ffffffffffffffff", "80000000"])
        func oversizedChunkInAResponseIs502(size: String) throws {
            let upstream = try TestUpstream { _ in
                .raw(Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\(size)\r\nabc".utf8))
            }
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream)) { proxy in
                let client = try proxy.client(timeout: 3)
                try client.send(HTTPText.request("GET", "/down"))
                var raw: [UInt8] = []
                while case .data(let bytes) = client.waitForPeer(timeout: 3) { raw += bytes }
                #expect(raw.starts(with: Array("HTTP/1.1 502".utf8)), "client got \(raw.text.debugDescription)")
                #expect(raw.firstRange(of: Array(size.utf8)) == nil, "relayed the size: \(raw.text.debugDescription)")
            }
        }

        @Test func responseChunkLinesAndTrailersAreRelayedCanonically() throws {
            let upstream = try TestUpstream { _ in
                .raw(
                    Array(
                        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                            + "0005;a=b\r\nhello\r\n000\r\nContent-Length: 9\r\nX-Ok: 1\r\nTransfer-Encoding: x\r\n"
                            + "set-cookie: a=b\r\nLocation: /evil\r\n\r\n").utf8))
            }
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream)) { proxy in
                let client = try proxy.client(timeout: 3)
                try client.send(HTTPText.request("GET", "/down", headers: [HTTPField("Connection", "close")]))
                var raw: [UInt8] = []
                while case .data(let bytes) = client.waitForPeer(timeout: 3) { raw += bytes }
                let body = RawUpstream.body(of: raw).text
                #expect(body == "5\r\nhello\r\n0\r\nX-Ok: 1\r\n\r\n", "client got \(raw.text.debugDescription)")
            }
        }

        // MARK: trailers

        @Test func framingAndRoutingTrailersNeverReachTheUpstream() throws {
            let upstream = try TestUpstream { _ in .text("ok") }
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream)) { proxy in
                let forbidden = [
                    "Transfer-Encoding: chunked", "Content-Length: 5", "Host: evil.test", "Connection: close",
                    "Keep-Alive: timeout=1", "Upgrade: h2c", "Proxy-Connection: keep-alive", "TE: trailers",
                    "Trailer: X-A", "Authorization: Basic YTpi", "Cookie: a=b", "Cache-Control: no-cache",
                    "If-Match: *", "Range: bytes=0-1", "Content-Encoding: gzip", "Content-Type: text/html",
                    "Max-Forwards: 0", "Expect: 100-continue", "X-Forwarded-For: 6.6.6.6",
                    "Forwarded: for=6.6.6.6", "content-range: bytes 0-1/2",
                ]
                let trailers = (["X-Before: 1"] + forbidden + ["X-After: 2"]).joined(separator: "\r\n") + "\r\n"
                let response = try proxy.fetch(
                    HTTPText.request(
                        "POST", "/t", headers: [HTTPField("Transfer-Encoding", "chunked")],
                        body: Array("3\r\nabc\r\n0\r\n\(trailers)\r\n".utf8)))
                #expect(response.status == 200)
                let seen = try #require(upstream.requests.first)
                #expect(seen.complete && seen.bodyText == "abc")
                #expect(seen.trailers.map(\.name) == ["X-Before", "X-After"], "upstream saw trailers \(seen.trailers)")
            }
        }
    }
}
