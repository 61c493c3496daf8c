// Valid request heads: what the parser reports for each, whole and fed piecewise.

@testable import HTTP
import Testing

@Suite struct RequestParserTests {
    @Test func simpleGet() {
        let raw = bytes("GET /index.html?x=1 HTTP/1.1\r\nHost: example.com\r\nAccept:  */* \r\nX-Empty:\r\n\r\n")
        let (result, head) = parseRequest(raw)
        #expect(result == .complete)
        #expect(head.method == .get)
        #expect(string(head.methodRange, in: raw) == "GET")
        #expect(string(head.target, in: raw) == "/index.html?x=1")
        #expect(string(head.path, in: raw) == "/index.html")
        #expect(head.versionMinor == 1)
        #expect(string(head.host, in: raw) == "example.com")
        #expect(head.framing == .none)
        #expect(head.keepAlive)
        #expect(!head.expectsContinue)
        #expect(head.forwardedFor == nil)
        #expect(head.headLength == raw.count)
        #expect(head.headers.count == 3)
        #expect(string(head.headers[1].name, in: raw) == "Accept")
        #expect(string(head.headers[1].value, in: raw) == "*/*")
        #expect(head.headers[2].value.isEmpty)
        #expect(head.headers.allSatisfy { !$0.isHopByHop })
        #expect(head.headers[0].wellKnown == .host)
    }

    @Test func postWithContentLength() {
        let raw = bytes("POST /submit HTTP/1.1\r\nHost: h\r\ncontent-LENGTH: 5\r\n\r\nhello")
        let (result, head) = parseRequest(raw)
        #expect(result == .complete)
        #expect(head.method == .post)
        #expect(head.framing == .contentLength(5))
        #expect(head.headLength == raw.count - 5)
        #expect(!head.headers[1].isHopByHop)  // Content-Length is forwarded as an ordinary field
    }

    @Test func zeroAndRepeatedIdenticalContentLength() {
        #expect(parseRequest("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n").1.framing == .contentLength(0))
        #expect(parseRequest("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\n").1.framing == .contentLength(5))
        #expect(
            parseRequest("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 7\r\nContent-Length: 7\r\n\r\n").1.framing
                == .contentLength(7))
        #expect(
            parseRequest("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 18446744073709551615\r\n\r\n").1.framing
                == .contentLength(UInt64.max))
    }

    @Test func chunked() {
        let raw = bytes("POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: CHUNKED\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
        let (result, head) = parseRequest(raw)
        #expect(result == .complete)
        #expect(head.framing == .chunked)
        #expect(head.headers[1].isHopByHop)
        #expect(string(ByteRange(lowerBound: head.headLength, upperBound: raw.count), in: raw) == "5\r\nhello\r\n0\r\n\r\n")
        // Empty list elements are ignored (RFC 9110 §5.6.1).
        #expect(parseRequest("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: , chunked ,\r\n\r\n").1.framing == .chunked)
    }

    @Test func pipelinedRequestsStopAtHeadLength() {
        let first = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
        let second = "GET /b HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
        let raw = bytes(first + second)
        var parser = RequestHeadParser(maxHeaderBytes: 8192, maxHeaderCount: 64)
        var head = RequestHead()
        #expect(raw.withUnsafeBytes { parser.parse($0, into: &head) } == .complete)
        #expect(head.headLength == first.utf8.count)
        #expect(string(head.target, in: raw) == "/a")
        let rest = Array(raw[head.headLength...])
        parser.reset()
        #expect(rest.withUnsafeBytes { parser.parse($0, into: &head) } == .complete)
        #expect(string(head.target, in: rest) == "/b")
        #expect(head.headLength == rest.count)
        #expect(!head.keepAlive)
    }

    @Test func absoluteFormOverridesHost() {
        let raw = bytes("GET http://api.example:8080/p?q=1 HTTP/1.1\r\nHost: other.example\r\n\r\n")
        let (result, head) = parseRequest(raw)
        #expect(result == .complete)
        #expect(string(head.target, in: raw) == "/p?q=1")
        #expect(string(head.path, in: raw) == "/p")
        #expect(string(head.host, in: raw) == "api.example:8080")
        let secure = bytes("GET HTTPS://[::1]:443 HTTP/1.1\r\nHost: x\r\n\r\n")
        let (r2, h2) = parseRequest(secure)
        #expect(r2 == .complete)
        #expect(h2.target.isEmpty && h2.path.isEmpty)
        #expect(string(h2.host, in: secure) == "[::1]:443")
    }

    @Test func optionsAsterisk() {
        let raw = bytes("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n")
        let (result, head) = parseRequest(raw)
        #expect(result == .complete)
        #expect(head.method == .options)
        #expect(string(head.target, in: raw) == "*")
        #expect(string(head.path, in: raw) == "*")
    }

    @Test func versionsAndPersistence() {
        let v10 = parseRequest("GET / HTTP/1.0\r\n\r\n")
        #expect(v10.0 == .complete)  // Host is not required in HTTP/1.0
        #expect(v10.1.versionMinor == 0 && !v10.1.keepAlive && v10.1.host == nil)
        let v10ka = parseRequest("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
        #expect(v10ka.1.keepAlive)
        #expect(v10ka.1.headers[0].isHopByHop)
        #expect(!parseRequest("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n").1.keepAlive)
        #expect(!parseRequest("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n").1.keepAlive)
        let v12 = parseRequest("GET / HTTP/1.2\r\nHost: h\r\n\r\n")
        #expect(v12.0 == .complete && v12.1.versionMinor == 1 && v12.1.keepAlive)
    }

    @Test func connectionNamedFieldsAreHopByHop() {
        let raw = bytes(
            """
            GET / HTTP/1.1\r
            Host: h\r
            Connection: x-secret, CLOSE, content-length, host\r
            X-Secret: 1\r
            Content-Length: 0\r
            Keep-Alive: timeout=5\r
            Proxy-Connection: keep-alive\r
            TE: trailers\r
            Trailer: X-Sum\r
            Upgrade: websocket\r
            X-Kept: 2\r
            \r

            """)
        let (result, head) = parseRequest(raw)
        #expect(result == .complete)
        #expect(!head.keepAlive)
        // Content-Length and Host are never dropped on a Connection option's say-so: that would unframe the body.
        #expect(forwardedNames(head.headers, in: raw) == ["Host", "Content-Length", "X-Kept"])
    }

    @Test func forwardedFieldsAreMarked() {
        let raw = bytes(
            """
            GET / HTTP/1.1\r
            Host: h\r
            X-Forwarded-For: 1.1.1.1, 2.2.2.2\r
            x-forwarded-for: 3.3.3.3\r
            X-Forwarded-Proto: https\r
            X-Forwarded-Host: evil\r
            \r

            """)
        let (result, head) = parseRequest(raw)
        #expect(result == .complete)
        #expect(string(head.forwardedFor, in: raw) == "1.1.1.1, 2.2.2.2")
        #expect(forwardedNames(head.headers, in: raw) == ["Host"])
        #expect(head.headers.filter { $0.wellKnown == .xForwardedFor }.count == 2)
    }

    @Test func leadingEmptyLinesAreSkipped() {
        let raw = bytes("\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n")
        let (result, head) = parseRequest(raw)
        #expect(result == .complete)
        #expect(string(head.target, in: raw) == "/")
        #expect(head.headLength == raw.count)
    }

    @Test func expectContinue() {
        #expect(parseRequest("PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n").1.expectsContinue)
        // RFC 9110 §10.1.1: ignored in HTTP/1.0.
        let v10 = parseRequest("PUT / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n")
        #expect(v10.0 == .complete && !v10.1.expectsContinue)
    }

    @Test func methodsAndHosts() {
        let cases: [(String, HTTPMethod)] = [
            ("GET", .get), ("HEAD", .head), ("POST", .post), ("PUT", .put), ("DELETE", .delete),
            ("OPTIONS", .options), ("PATCH", .patch), ("TRACE", .trace), ("PURGE", .other), ("get", .other),
            ("M-SEARCH", .other),
        ]
        for (token, method) in cases {
            let (result, head) = parseRequest("\(token) / HTTP/1.1\r\nHost: h\r\n\r\n")
            #expect(result == .complete, "\(token)")
            #expect(head.method == method, "\(token)")
        }
        for host in [
            "example.com", "example.com:8080", "10.0.0.1", "10.0.0.1:80", "[2001:db8::1]", "[::1]:8443",
            "my_host-1.local", "caf%C3%A9.example",
        ] {
            let raw = bytes("GET / HTTP/1.1\r\nHost: \(host)\r\n\r\n")
            let (result, head) = parseRequest(raw)
            #expect(result == .complete, "\(host)")
            #expect(string(head.host, in: raw) == host)
        }
        // RFC 9110 §7.2: an empty Host says the target has no authority; it is valid, and routes as the empty name.
        let empty = parseRequest("GET / HTTP/1.1\r\nHost: \r\n\r\n")
        #expect(empty.0 == .complete && empty.1.host?.isEmpty == true)
    }

    @Test func headExactlyAtLimitIsAccepted() {
        let raw = bytes("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(parseRequest(raw, maxHeaderBytes: raw.count).0 == .complete)
        #expect(
            parseRequest(raw, maxHeaderBytes: raw.count - 1).0
                == .error(
                    HTTPParseError(status: 431, reason: "request head too large")))
        #expect(parseRequest(raw, maxHeaderCount: 1).0 == .complete)
    }

    @Test func incompleteUntilTheEmptyLine() {
        let raw = bytes("GET / HTTP/1.1\r\nHost: h\r\n\r")
        #expect(parseRequest(raw).0 == .incomplete)
        #expect(parseRequest([]).0 == .incomplete)
    }

    @Test func oneByteAtATimeMatchesWhole() {
        let fixtures = [
            "GET /index.html?x=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n",
            "\r\nPOST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: x, close\r\nX: 1\r\n\r\n5\r\n",
            "GET http://a.example/p HTTP/1.0\r\nConnection: keep-alive\r\nX-Forwarded-For: 9.9.9.9\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n",  // an error must be the same error too
            "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
        ]
        for text in fixtures {
            let raw = bytes(text)
            let whole = parseRequest(raw)
            let piecewise = parseRequestIncrementally(raw, cuts: Array(0..<raw.count))
            #expect(whole.0 == piecewise.0, "\(text)")
            #expect(whole.1 == piecewise.1, "\(text)")
        }
    }

    @Test func randomSplitsMatchWhole() {
        var rng = SeededRandom(seed: 42)
        let raw = bytes("PATCH /a/b?c HTTP/1.1\r\nHost: h:1\r\nContent-Length: 3\r\nX-Forwarded-For: 1.2.3.4\r\nA: b\r\n\r\nabc")
        let whole = parseRequest(raw)
        for _ in 0..<200 {
            let cuts = (0..<Int.random(in: 1...6, using: &rng)).map { _ in Int.random(in: 0...raw.count, using: &rng) }.sorted()
            let piecewise = parseRequestIncrementally(raw, cuts: cuts)
            #expect(whole.0 == piecewise.0)
            #expect(whole.1 == piecewise.1)
        }
    }

    @Test func errorsInCompleteLinesAreReportedBeforeTheHeadEnds() {
        let cases: [(String, Int)] = [
            ("GET / HTTP/1.1\r\nHost: h\r\nBad Name: x\r\nMore: ", 400),
            ("GET / HTTP/1.1\r\nHost: h\r\nX: 1\r\n folded", 400),  // obs-fold seen from its first byte
            ("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n", 400),
            ("CONNECT h:443 HTTP/1.1\r\n", 501),
            ("GET / HTTP/1.1\nHost", 400),
        ]
        for (text, expected) in cases {
            #expect(status(parseRequest(text).0) == expected, "\(text)")
        }
    }

    @Test func resetKeepsHeaderCapacity() {
        let raw = bytes("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n")
        var parser = RequestHeadParser(maxHeaderBytes: 8192, maxHeaderCount: 64)
        var head = RequestHead()
        #expect(raw.withUnsafeBytes { parser.parse($0, into: &head) } == .complete)
        let capacity = head.headers.capacity
        for _ in 0..<10 {
            parser.reset()
            #expect(raw.withUnsafeBytes { parser.parse($0, into: &head) } == .complete)
            #expect(head.headers.count == 5)
            #expect(head.headers.capacity == capacity)
        }
        head.reset()
        #expect(head.headers.isEmpty && head.headers.capacity == capacity)
    }

    @Test func resultIsStickyAfterCompletion() {
        let raw = bytes("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        var parser = RequestHeadParser(maxHeaderBytes: 8192, maxHeaderCount: 64)
        var head = RequestHead()
        #expect(raw.withUnsafeBytes { parser.parse($0, into: &head) } == .complete)
        #expect(raw.withUnsafeBytes { parser.parse($0, into: &head) } == .complete)
        #expect(head.headers.count == 1)
    }
}
