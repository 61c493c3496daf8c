// RequestView: the same request over HTTP/1.1 (a parsed head) and HTTP/2 (decoded fields) gives the same answers.
import HTTP
import Testing

/// What a view says of a request, as text, for comparing the two protocols' views.
private struct Seen: Equatable {
    var method: HTTPMethod
    var methodName: String
    var authority: String?
    var path: String
    var fields: [String]
    var canary: String?
    var userAgent: String?
    var session: String?
    var theme: String?
    var missingCookie: String?
    /// `cookies(theme, session)`: the two lookups in one pass.
    var themeAndSession: [String?]

    init(_ view: RequestView) {
        func text(_ b: UnsafeRawBufferPointer?) -> String? { b.map { String(decoding: $0, as: UTF8.self) } }
        method = view.method
        methodName = String(decoding: view.methodName, as: UTF8.self)
        authority = text(view.authority)
        path = text(view.path)!
        var all: [String] = []
        view.forEachField { name, value in
            all.append("\(String(decoding: name, as: UTF8.self).lowercased())=\(String(decoding: value, as: UTF8.self))")
        }
        fields = all
        canary = Array("x-canary".utf8).withUnsafeBytes { text(view.field($0)) }
        userAgent = Array("user-agent".utf8).withUnsafeBytes { text(view.field($0)) }
        session = Array("session".utf8).withUnsafeBytes { text(view.cookie($0)) }
        theme = Array("theme".utf8).withUnsafeBytes { text(view.cookie($0)) }
        missingCookie = Array("sess".utf8).withUnsafeBytes { text(view.cookie($0)) }
        themeAndSession = Array("theme".utf8).withUnsafeBytes { theme in
            Array("session".utf8).withUnsafeBytes { session in
                let found = view.cookies(theme, session)
                return [text(found.first), text(found.second)]
            }
        }
    }
}

private func viewOfHTTP1(_ head: String) -> Seen {
    let raw = bytes(head)
    var (result, request) = parseRequest(raw)
    #expect(result == .complete)
    return raw.withUnsafeBytes { source in request.withView(source: source) { Seen($0) } }
}

private func viewOfHTTP2(_ fields: [(String, String)]) -> Seen {
    var request = FieldRequest(maxListSize: 16_384, maxCount: 100)
    var scratch = [UInt8](repeating: 0, count: 4096)
    for (name, value) in fields {
        Array(name.utf8).withUnsafeBytes { n in
            Array(value.utf8).withUnsafeBytes { v in scratch.withUnsafeMutableBytes { request.add(name: n, value: v, scratch: $0) } }
        }
    }
    request.finish()
    #expect(request.problem == nil)
    return scratch.withUnsafeBytes { all in
        request.withView(source: UnsafeRawBufferPointer(rebasing: all[..<request.used])) { Seen($0) }
    }
}

@Suite struct RequestViewTests {
    @Test func bothProtocolsGiveTheSameView() {
        let http1 = viewOfHTTP1(
            """
            POST /beta/items?page=2 HTTP/1.1\r
            Host: Shop.example:8443\r
            User-Agent: probe/1\r
            Connection: keep-alive, x-trace\r
            X-Trace: 1\r
            Cookie: theme=dark; session=abc123\r
            X-Canary: insider\r
            X-Forwarded-For: 203.0.113.9\r
            Content-Length: 0\r
            Cookie: lang=en\r
            \r

            """)
        let http2 = viewOfHTTP2([
            (":method", "POST"), (":scheme", "https"), (":authority", "Shop.example:8443"), (":path", "/beta/items?page=2"),
            ("user-agent", "probe/1"), ("cookie", "theme=dark"), ("cookie", "session=abc123"), ("x-canary", "insider"),
            ("x-forwarded-for", "203.0.113.9"), ("content-length", "0"), ("cookie", "lang=en"),
        ])
        #expect(http1.method == .post && http1.methodName == "POST")
        #expect(http1.authority == "Shop.example:8443")
        #expect(http1.path == "/beta/items")
        #expect(http1.canary == "insider")
        #expect(http1.userAgent == "probe/1")
        #expect(http1.session == "abc123")
        #expect(http1.theme == "dark")
        #expect(http1.missingCookie == nil)
        // Connection-specific fields (and those Connection names), Host, Cookie and X-Forwarded-For are not shown.
        #expect(http1.fields == ["user-agent=probe/1", "x-canary=insider", "content-length=0"])
        #expect(http2 == http1)
    }

    @Test func anUnnamedMethodKeepsItsToken() {
        let http1 = viewOfHTTP1("PURGE /x HTTP/1.1\r\nHost: a\r\n\r\n")
        let http2 = viewOfHTTP2([(":method", "PURGE"), (":path", "/x"), (":authority", "a")])
        #expect(http1.method == .other && http1.methodName == "PURGE")
        #expect(http2 == http1)
    }

    @Test func fieldNamesMatchWhateverTheirCase() {
        let seen = viewOfHTTP1("GET / HTTP/1.1\r\nhost: a\r\nX-CANARY: yes\r\n\r\n")
        #expect(seen.canary == "yes")
        #expect(seen.fields == ["x-canary=yes"])
    }

    @Test func cookieNamesAreCaseSensitiveAndWhitespaceIsTrimmed() {
        let seen = viewOfHTTP1("GET / HTTP/1.1\r\nHost: a\r\nCookie:  Session=upper ;session= lower-ok\t\r\n\r\n")
        // "Session" is another cookie; the value keeps its inner bytes but not the pair's surrounding whitespace.
        #expect(seen.session == " lower-ok")
        let h2 = viewOfHTTP2([(":method", "GET"), (":path", "/"), (":authority", "a"), ("cookie", "session=")])
        #expect(h2.session == "")
    }

    @Test func twoCookiesAreFoundInOnePassAsOneByOne() {
        let h1 = viewOfHTTP1("GET / HTTP/1.1\r\nHost: a\r\nCookie: session=s1; theme=t1\r\nCookie: theme=t2\r\n\r\n")
        #expect(h1.themeAndSession == [h1.theme, h1.session] && h1.themeAndSession == ["t1", "s1"])
        let h2 = viewOfHTTP2([(":method", "GET"), (":path", "/"), ("cookie", "x=1"), ("cookie", "session=s2")])
        #expect(h2.themeAndSession == [nil, "s2"])
    }

    @Test func aRequestWithoutAuthorityHasNone() {
        let seen = viewOfHTTP1("GET /x HTTP/1.0\r\n\r\n")
        #expect(seen.authority == nil)
        #expect(seen.fields.isEmpty)
        let h2 = viewOfHTTP2([(":method", "GET"), (":path", "/x")])
        #expect(h2.authority == nil)
        #expect(h2.path == "/x")
    }

    @Test func http2HostStandsInForAMissingAuthority() {
        let seen = viewOfHTTP2([(":method", "GET"), (":path", "/"), ("host", "b.example"), ("accept", "*/*")])
        #expect(seen.authority == "b.example")
        #expect(seen.fields == ["accept=*/*"])
    }
}
