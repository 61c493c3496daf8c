// What the HTTP/2 side adds to FieldRequest: te: trailers remembered (for HTTP/2 upstreams), Expect dropped, the HTTP/2 field list.
import HTTP
import Testing

@Suite struct FieldRequestForwardingTests {
    /// Feeds `fields` through a FieldRequest with a scratch buffer; returns it and the scratch bytes.
    private func collect(
        _ fields: [(String, String)], maxListSize: Int = 16_384, maxCount: Int = 100,
        scratch size: Int = 4096
    ) -> (FieldRequest, [UInt8]) {
        var request = FieldRequest(maxListSize: maxListSize, maxCount: maxCount)
        var scratch = [UInt8](repeating: 0, count: size)
        scratch.withUnsafeMutableBytes { out in
            for (name, value) in fields {
                Array(name.utf8).withUnsafeBytes { n in
                    Array(value.utf8).withUnsafeBytes { v in request.add(name: n, value: v, scratch: out) }
                }
            }
        }
        request.finish()
        return (request, scratch)
    }

    private func http1(_ request: FieldRequest, _ scratch: [UInt8], chunked: Bool = false) -> String? {
        var out = [UInt8](repeating: 0, count: 8192)
        let n = scratch.withUnsafeBytes { source in
            Array("10.0.0.9".utf8).withUnsafeBytes { peer in
                out.withUnsafeMutableBytes {
                    request.writeHTTP1(
                        source: UnsafeRawBufferPointer(rebasing: source[0..<request.used]),
                        clientAddress: peer, proto: "https", chunkedBody: chunked, into: $0)
                }
            }
        }
        return n.map { String(decoding: out[0..<$0], as: UTF8.self) }
    }

    @Test func teAndExpectAreNotForwardedAndCookiesAreJoined() throws {
        let (request, scratch) = collect([
            (":method", "POST"), (":scheme", "https"), (":authority", "api.example"), (":path", "/v1/items?limit=5"),
            ("accept", "*/*"), ("x-forwarded-for", "192.0.2.1"), ("cookie", "a=1"), ("user-agent", "t"), ("cookie", "b=2"),
            ("te", "trailers"), ("x-forwarded-proto", "spoofed"), ("expect", "100-continue"),
        ])
        #expect(request.problem == nil)
        #expect(request.method == .post)
        #expect(request.acceptsTrailers)
        let head = try #require(http1(request, scratch, chunked: true))
        #expect(
            head == "POST /v1/items?limit=5 HTTP/1.1\r\nHost: api.example\r\naccept: */*\r\nuser-agent: t\r\n"
                + "cookie: a=1; b=2\r\nX-Forwarded-For: 192.0.2.1, 10.0.0.9\r\nX-Forwarded-Proto: https\r\n"
                + "X-Forwarded-Host: api.example\r\nForwarded: for=10.0.0.9;host=\"api.example\";proto=https\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        let path = scratch.withUnsafeBytes { Array(request.path(in: UnsafeRawBufferPointer(rebasing: $0[0..<request.used]))) }
        #expect(String(decoding: path, as: UTF8.self) == "/v1/items")
    }

    @Test func http2FieldsCarryTheForwardingFieldsAndTE() {
        let (request, scratch) = collect([
            (":method", "GET"), (":scheme", "http"), (":authority", "a"), (":path", "/p"),
            ("x-forwarded-for", "192.0.2.1"), ("te", "trailers"), ("grpc-timeout", "1S"),
        ])
        var emitted: [String] = []
        var storage = [UInt8](repeating: 0, count: 256)
        let ok = scratch.withUnsafeBytes { source in
            Array("10.0.0.9".utf8).withUnsafeBytes { peer in
                storage.withUnsafeMutableBytes { room in
                    request.forEachHTTP2Field(
                        source: UnsafeRawBufferPointer(rebasing: source[0..<request.used]), clientAddress: peer,
                        proto: "http", scheme: "https", storage: room
                    ) { name, value in
                        emitted.append(String(decoding: name, as: UTF8.self) + ": " + String(decoding: value, as: UTF8.self))
                    }
                }
            }
        }
        #expect(ok)
        #expect(
            emitted == [
                ":method: GET", ":scheme: https", ":authority: a", ":path: /p", "grpc-timeout: 1S", "te: trailers",
                "x-forwarded-for: 192.0.2.1, 10.0.0.9", "x-forwarded-proto: http", "x-forwarded-host: a",
                "forwarded: for=10.0.0.9;host=\"a\";proto=http",
            ])
    }
}
