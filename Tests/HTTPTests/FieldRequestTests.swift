// FieldRequest: HTTP/2 fields collected into scratch bytes, checked against the limits, and written as the exact HTTP/1.1 head.
import HTTP
import Testing

/// A FieldRequest and the scratch it writes into, fed fields the way the HTTP/2 decoder delivers them.
private struct Collector {
    var request: FieldRequest
    var scratch: [UInt8]

    init(scratchSize: Int = 4096, maxListSize: Int = 16_384, maxCount: Int = 100) {
        request = FieldRequest(maxListSize: maxListSize, maxCount: maxCount)
        scratch = [UInt8](repeating: 0, count: scratchSize)
    }

    mutating func add(_ fields: [(String, String)]) {
        for (name, value) in fields {
            let n = Array(name.utf8), v = Array(value.utf8)
            n.withUnsafeBytes { n in
                v.withUnsafeBytes { v in
                    scratch.withUnsafeMutableBytes { request.add(name: n, value: v, scratch: $0) }
                }
            }
        }
    }

    /// The HTTP/1.1 head as text, or nil when it does not fit `outSize` bytes.
    func head(client: String = "192.0.2.7", chunked: Bool = false, outSize: Int = 4096) -> String? {
        var out = [UInt8](repeating: 0, count: outSize)
        let address = Array(client.utf8)
        let n = scratch.withUnsafeBytes { scratch in
            address.withUnsafeBytes { address in
                out.withUnsafeMutableBytes { out in
                    request.writeHTTP1(
                        source: UnsafeRawBufferPointer(rebasing: scratch[..<request.used]), clientAddress: address,
                        proto: "https", chunkedBody: chunked, into: out)
                }
            }
        }
        return n.map { String(decoding: out[..<$0], as: UTF8.self) }
    }

    func text(_ range: ByteRange?) -> String? {
        range.map { String(decoding: scratch[$0.lowerBound..<$0.upperBound], as: UTF8.self) }
    }

    var path: String {
        scratch.withUnsafeBytes { String(decoding: request.path(in: UnsafeRawBufferPointer(rebasing: $0[..<request.used])), as: UTF8.self) }
    }
}

/// Collects `fields`, finishes, and returns the collector.
private func collect(_ fields: [(String, String)], scratchSize: Int = 4096, maxListSize: Int = 16_384, maxCount: Int = 100) -> Collector {
    var c = Collector(scratchSize: scratchSize, maxListSize: maxListSize, maxCount: maxCount)
    c.add(fields)
    c.request.finish()
    return c
}

private let pseudo = [(":method", "GET"), (":scheme", "https"), (":authority", "example.com"), (":path", "/a/b?x=1&y=2")]

@Suite struct FieldRequestTests {
    @Test func writesTheExactHeadOfATypicalRequest() {
        let c = collect(
            pseudo + [
                ("user-agent", "curl/8"),
                ("accept", "*/*"),
                ("x-forwarded-for", "203.0.113.1"),
                ("x-forwarded-for", "198.51.100.2, 198.51.100.3"),
                ("x-empty", ""),
            ])
        #expect(c.request.problem == nil)
        #expect(c.request.method == .get)
        #expect(c.text(c.request.methodRange) == "GET")
        #expect(c.text(c.request.target) == "/a/b?x=1&y=2")
        #expect(c.text(c.request.authority) == "example.com")
        #expect(!c.request.hasContentLength)
        #expect(
            c.head(chunked: true) == """
                GET /a/b?x=1&y=2 HTTP/1.1\r
                Host: example.com\r
                user-agent: curl/8\r
                accept: */*\r
                x-empty: \r
                X-Forwarded-For: 203.0.113.1, 198.51.100.2, 198.51.100.3, 192.0.2.7\r
                X-Forwarded-Proto: https\r
                X-Forwarded-Host: example.com\r
                Forwarded: for=192.0.2.7;host="example.com";proto=https\r
                Transfer-Encoding: chunked\r
                \r

                """)
    }

    @Test func aDeclaredLengthIsKeptAndNoChunkingAdded() {
        let c = collect([(":method", "POST"), (":path", "/form"), (":authority", "h"), ("content-length", "12")])
        #expect(c.request.method == .post)
        #expect(c.request.hasContentLength)
        #expect(
            c.head() == "POST /form HTTP/1.1\r\nHost: h\r\ncontent-length: 12\r\n"
                + "X-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: h\r\nForwarded: for=192.0.2.7;host=\"h\";proto=https\r\n\r\n"
        )
    }

    @Test func theHostFieldStandsInForAMissingAuthority() {
        let c = collect([(":method", "GET"), (":scheme", "http"), (":path", "/"), ("host", "h.example:8080"), ("accept", "*/*")])
        #expect(c.text(c.request.authority) == "h.example:8080")
        #expect(
            c.head() == "GET / HTTP/1.1\r\nHost: h.example:8080\r\naccept: */*\r\n"
                + "X-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: h.example:8080\r\nForwarded: for=192.0.2.7;host=\"h.example:8080\";proto=https\r\n\r\n"
        )
    }

    @Test func authorityWinsOverAHostFieldWhichIsNotRepeated() {
        let c = collect(pseudo + [("host", "other.example")])
        #expect(c.text(c.request.authority) == "example.com")
        #expect(c.head()?.contains("other.example") == false)
    }

    @Test func noAuthorityAtAllGivesAnEmptyHostAndNoForwardedHost() {
        let c = collect([(":method", "GET"), (":path", "/")])
        #expect(c.request.problem == nil)
        #expect(
            c.head()
                == "GET / HTTP/1.1\r\nHost: \r\nX-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: https\r\nForwarded: for=192.0.2.7;proto=https\r\n\r\n"
        )
    }

    @Test func splitCookiesAreJoinedIntoOneField() {
        let c = collect(pseudo + [("cookie", "a=1"), ("accept", "*/*"), ("cookie", "b=2"), ("cookie", "c=3")])
        #expect(
            c.head() == """
                GET /a/b?x=1&y=2 HTTP/1.1\r
                Host: example.com\r
                accept: */*\r
                cookie: a=1; b=2; c=3\r
                X-Forwarded-For: 192.0.2.7\r
                X-Forwarded-Proto: https\r
                X-Forwarded-Host: example.com\r
                Forwarded: for=192.0.2.7;host="example.com";proto=https\r
                \r

                """)
    }

    @Test func connectionSpecificAndForwardingFieldsAreDropped() {
        let dropped = [
            ("te", "trailers"), ("connection", "close"), ("keep-alive", "5"), ("proxy-connection", "x"),
            ("transfer-encoding", "chunked"), ("upgrade", "h2c"), ("trailer", "x-sum"),
            ("x-forwarded-proto", "http"), ("x-forwarded-host", "evil.example"),
        ]
        let c = collect(pseudo + [("accept", "*/*")] + dropped + [("x-last", "1")])
        #expect(c.request.problem == nil)
        #expect(
            c.head() == """
                GET /a/b?x=1&y=2 HTTP/1.1\r
                Host: example.com\r
                accept: */*\r
                x-last: 1\r
                X-Forwarded-For: 192.0.2.7\r
                X-Forwarded-Proto: https\r
                X-Forwarded-Host: example.com\r
                Forwarded: for=192.0.2.7;host="example.com";proto=https\r
                \r

                """)
    }

    @Test func regularFieldsStayContiguousAroundStoredValues() {
        // Each stored value (host, cookie, x-forwarded-for) lands after the lines so far, so the next
        // regular field moves the lines past it.
        let c = collect([
            (":method", "GET"), (":path", "/"),
            ("a", "1"), ("host", "h"), ("b", "2"), ("cookie", "k=v"), ("c", "3"),
            ("x-forwarded-for", "10.0.0.1"), ("d", "4"), ("cookie", "m=n"), ("e", "5"),
        ])
        #expect(c.request.problem == nil)
        #expect(
            c.head() == """
                GET / HTTP/1.1\r
                Host: h\r
                a: 1\r
                b: 2\r
                c: 3\r
                d: 4\r
                e: 5\r
                cookie: k=v; m=n\r
                X-Forwarded-For: 10.0.0.1, 192.0.2.7\r
                X-Forwarded-Proto: https\r
                X-Forwarded-Host: h\r
                Forwarded: for=192.0.2.7;host="h";proto=https\r
                \r

                """)
    }

    @Test func theListSizeLimitCountsNameValueAnd32() {
        // ":method" GET = 7 + 3 + 32 = 42, ":path" / = 5 + 1 + 32 = 38, "ab" "cdefgh" = 2 + 6 + 32 = 40: 120 in all.
        let fits = collect([(":method", "GET"), (":path", "/"), ("ab", "cdefgh")], maxListSize: 120)
        #expect(fits.request.problem == nil)
        let over = collect([(":method", "GET"), (":path", "/"), ("ab", "cdefghi")], maxListSize: 120)
        #expect(over.request.problem == .tooLarge)
        // Dropped fields count too: they were sent.
        let dropped = collect([(":method", "GET"), (":path", "/"), ("te", "trailersx")], maxListSize: 120)
        #expect(dropped.request.problem == .tooLarge)
    }

    @Test func theFieldCountLimit() {
        let fits = collect([(":method", "GET"), (":path", "/"), ("a", "1")], maxCount: 3)
        #expect(fits.request.problem == nil)
        let over = collect([(":method", "GET"), (":path", "/"), ("a", "1"), ("b", "2")], maxCount: 3)
        #expect(over.request.problem == .tooLarge)
    }

    @Test func tooLargeIsNotOverriddenByIncomplete() {
        // The limit is hit before :path arrives; the fields after it are ignored.
        let c = collect([(":method", "GET"), ("x", "1"), (":path", "/")], maxCount: 1)
        #expect(c.request.problem == .tooLarge)
        #expect(c.request.target == nil)
    }

    @Test func scratchOverflowIsTooLarge() {
        // "GET" and "/" take 4 bytes, "user-agent: x\r\n" 15: 19 of 20.
        let fits = collect([(":method", "GET"), (":path", "/"), ("user-agent", "x")], scratchSize: 20)
        #expect(fits.request.problem == nil)
        #expect(fits.request.used == 19)
        let line = collect([(":method", "GET"), (":path", "/"), ("user-agent", "x"), ("a", "b")], scratchSize: 20)
        #expect(line.request.problem == .tooLarge)
        let value = collect([(":method", "GET"), (":path", "/" + String(repeating: "p", count: 20))], scratchSize: 20)
        #expect(value.request.problem == .tooLarge)
        let cookie = collect([(":method", "GET"), (":path", "/"), ("cookie", String(repeating: "c", count: 17))], scratchSize: 20)
        #expect(cookie.request.problem == .tooLarge)
    }

    @Test func scratchOverflowWhileMovingTheLinesIsTooLarge() {
        // After "GET", "/", "aa: b\r\n" and the cookie "c=1", 14 bytes are used; "dd: e\r\n" alone would
        // end at 21, but moving the first line past the cookie first needs 14 + 7 + 7 = 28.
        let moved = collect([(":method", "GET"), (":path", "/"), ("aa", "b"), ("cookie", "c=1"), ("dd", "e")], scratchSize: 28)
        #expect(moved.request.problem == nil)
        let short = collect([(":method", "GET"), (":path", "/"), ("aa", "b"), ("cookie", "c=1"), ("dd", "e")], scratchSize: 27)
        #expect(short.request.problem == .tooLarge)
    }

    @Test func missingPseudoFieldsAreIncomplete() {
        #expect(collect([(":path", "/"), (":authority", "h")]).request.problem == .incomplete)
        #expect(collect([(":method", "GET"), (":authority", "h")]).request.problem == .incomplete)
        let connect = collect([(":method", "CONNECT"), (":authority", "h:443")])
        #expect(connect.request.problem == nil)
        #expect(connect.request.method == .connect)
    }

    @Test func pathDropsTheQuery() {
        #expect(collect(pseudo).path == "/a/b")
        #expect(collect([(":method", "GET"), (":path", "/plain")]).path == "/plain")
        #expect(collect([(":method", "GET"), (":path", "/?")]).path == "/")
        #expect(collect([(":method", "CONNECT"), (":authority", "h:443")]).path == "")
    }

    @Test func resetMakesTheStructReusable() {
        var c = Collector(maxCount: 8)
        c.add([
            (":method", "POST"), (":path", "/first"), ("host", "first.example"), ("content-length", "3"),
            ("cookie", "a=1"), ("x-forwarded-for", "10.0.0.1"), ("accept", "*/*"), ("x", "1"), ("y", "2"),
        ])
        c.request.finish()
        #expect(c.request.problem == .tooLarge)

        c.request.reset()
        c.add(pseudo + [("accept", "text/html")])
        c.request.finish()
        let fresh = collect(pseudo + [("accept", "text/html")])
        #expect(c.request.problem == nil)
        #expect(c.request.method == .get)
        #expect(!c.request.hasContentLength)
        #expect(c.request.used == fresh.request.used)
        #expect(c.head() == fresh.head())
    }

    @Test func anOutputBufferTooSmallGivesNil() throws {
        let c = collect(pseudo + [("accept", "*/*"), ("cookie", "a=1"), ("x-forwarded-for", "10.0.0.1")])
        let whole = try #require(c.head(chunked: true))
        let length = whole.utf8.count
        #expect(c.head(chunked: true, outSize: length) == whole)
        #expect(c.head(chunked: true, outSize: length - 1) == nil)
        #expect(c.head(chunked: true, outSize: 10) == nil)
    }
}
