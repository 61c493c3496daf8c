// Response heads: framing per RFC 9112 §6.3, persistence, hop-by-hop marking, and 502 for every malformation.

@testable import HTTP
import Testing

let malformedResponses: [Rejected] = [
    Rejected("two-digit status", "HTTP/1.1 20 OK\r\n\r\n", 502),
    Rejected("four-digit status", "HTTP/1.1 2000 OK\r\n\r\n", 502),
    Rejected("status below 100", "HTTP/1.1 099 Low\r\n\r\n", 502),
    Rejected("status above 599", "HTTP/1.1 600 High\r\n\r\n", 502),
    Rejected("letters in status", "HTTP/1.1 2x0 OK\r\n\r\n", 502),
    Rejected("no space before reason", "HTTP/1.1 200OK\r\n\r\n", 502),
    Rejected("HTTP/1.2", "HTTP/1.2 200 OK\r\n\r\n", 502),
    Rejected("HTTP/2", "HTTP/2 200 OK\r\n\r\n", 502),
    Rejected("lowercase version", "http/1.1 200 OK\r\n\r\n", 502),
    Rejected("two spaces after version", "HTTP/1.1  200 OK\r\n\r\n", 502),
    Rejected("control character in reason", "HTTP/1.1 200 O\u{1}K\r\n\r\n", 502),
    Rejected("leading empty line", "\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 502),
    Rejected("bare LF", "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", 502),
    Rejected("obs-fold", "HTTP/1.1 200 OK\r\nX-A: 1\r\n 2\r\n\r\n", 502),
    Rejected("space before colon", "HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n", 502),
    Rejected("CR in value", "HTTP/1.1 200 OK\r\nX-A: 1\r2\r\n\r\n", 502),
    Rejected("NUL in value", "HTTP/1.1 200 OK\r\nX-A: \u{0}\r\n\r\n", 502),
    Rejected("empty field name", "HTTP/1.1 200 OK\r\n: 1\r\n\r\n", 502),
    Rejected("differing content-length", "HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n", 502),
    Rejected("malformed content-length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 502),
    Rejected("TE gzip", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", 502),
    Rejected("TE gzip before chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 502),
    Rejected("TE chunked twice", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 502),
]

@Suite struct ResponseParserTests {
    @Test(arguments: malformedResponses) func malformed(_ fixture: Rejected) {
        #expect(status(parseResponse(fixture.raw).0) == fixture.status)
    }

    @Test func contentLength() {
        let raw = bytes("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello")
        let (result, head) = parseResponse(raw)
        #expect(result == .complete)
        #expect(head.status == 200 && head.versionMinor == 1)
        #expect(string(head.reason, in: raw) == "OK")
        #expect(head.framing == .contentLength(5))
        #expect(head.keepAlive)
        #expect(head.headLength == raw.count - 5)
        #expect(forwardedNames(head.headers, in: raw) == ["Content-Length", "Content-Type"])
    }

    @Test func chunkedAndUntilClose() {
        let chunked = parseResponse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        #expect(chunked.1.framing == .chunked && chunked.1.keepAlive)
        #expect(chunked.1.headers[0].isHopByHop)
        let unframed = parseResponse("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n")
        #expect(unframed.1.framing == .untilClose && !unframed.1.keepAlive)
    }

    @Test func bodylessResponses() {
        #expect(parseResponse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", method: .head).1.framing == .none)
        #expect(parseResponse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", method: .head).1.framing == .none)
        for code in ["100 Continue", "101 Switching Protocols", "103 Early Hints", "204 No Content", "304 Not Modified"] {
            let (result, head) = parseResponse("HTTP/1.1 \(code)\r\n\r\n")
            #expect(result == .complete)
            #expect(head.framing == .none, "\(code)")
        }
        #expect(parseResponse("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n").1.keepAlive)
    }

    @Test func contentLengthWithTransferEncoding() {
        let raw = bytes("HTTP/1.1 200 OK\r\nContent-Length: 10\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n")
        let (result, head) = parseResponse(raw)
        #expect(result == .complete)
        #expect(head.framing == .chunked)
        #expect(!head.keepAlive)
        // RFC 9112 §6.3: the Content-Length must not be forwarded.
        #expect(forwardedNames(head.headers, in: raw) == ["X-A"])
    }

    @Test func persistence() {
        #expect(!parseResponse("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n").1.keepAlive)
        #expect(!parseResponse("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n").1.keepAlive)
        let v10 = parseResponse("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n")
        #expect(v10.1.keepAlive && v10.1.versionMinor == 0)
        // Transfer-Encoding in HTTP/1.0 is faulty framing: read it, then close (RFC 9112 §6.1).
        let te10 = parseResponse("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n")
        #expect(te10.1.framing == .chunked && !te10.1.keepAlive)
    }

    @Test func reasonPhrases() {
        let empty = bytes("HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n")
        let (r1, h1) = parseResponse(empty)
        #expect(r1 == .complete && h1.status == 404 && h1.reason.isEmpty)
        let missing = bytes("HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n")
        let (r2, h2) = parseResponse(missing)
        #expect(r2 == .complete && h2.status == 404 && h2.reason.isEmpty)
        let long = bytes("HTTP/1.1 599 Some\tLong  Reason é\r\n\r\n")
        #expect(string(parseResponse(long).1.reason, in: long) == "Some\tLong  Reason é")
    }

    @Test func hopByHopInResponses() {
        let raw = bytes(
            """
            HTTP/1.1 200 OK\r
            Connection: X-Internal\r
            X-Internal: secret\r
            Keep-Alive: timeout=5\r
            Upgrade: h2c\r
            X-Forwarded-For: 1.2.3.4\r
            Content-Length: 0\r
            \r

            """)
        let (result, head) = parseResponse(raw)
        #expect(result == .complete)
        // X-Forwarded-* are only rewritten on requests; in a response they are the application's business.
        #expect(forwardedNames(head.headers, in: raw) == ["X-Forwarded-For", "Content-Length"])
    }

    /// "keep-alive" among the options names only the Keep-Alive field (hop-by-hop anyway); any other
    /// option still names a field to drop, in any position of the list, and "close" is one too.
    @Test(arguments: ["keep-alive", "keep-alive, X-Internal", "X-Internal, keep-alive", "close", "Close, keep-alive"])
    func connectionOptionsNameFields(_ options: String) {
        let raw = bytes(
            "HTTP/1.1 200 OK\r\nConnection: \(options)\r\nX-Internal: 1\r\nClose: 2\r\nKeep-Alive: timeout=5\r\nContent-Length: 0\r\n\r\n")
        let (result, head) = parseResponse(raw)
        #expect(result == .complete)
        var kept = ["X-Internal", "Close", "Content-Length"]
        if options.lowercased().contains("x-internal") { kept.removeAll { $0 == "X-Internal" } }
        if options.lowercased().contains("close") { kept.removeAll { $0 == "Close" } }
        #expect(forwardedNames(head.headers, in: raw) == kept)
    }

    @Test func limits() {
        let raw = bytes("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\n\r\n")
        #expect(parseResponse(raw, maxHeaderCount: 1).0 == .error(HTTPParseError(status: 502, reason: "too many header fields")))
        #expect(status(parseResponse(raw, maxHeaderBytes: 20).0) == 502)
        #expect(parseResponse(raw, maxHeaderBytes: raw.count).0 == .complete)
    }

    @Test func failureIsStickyAndStaysA502() {
        let bad = bytes("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n")
        let good = bytes("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        var parser = ResponseHeadParser(maxHeaderBytes: 8192, maxHeaderCount: 64)
        var head = ResponseHead()
        let failed = RequestHeadParser.Result.error(HTTPParseError(status: 502, reason: "malformed content-length"))
        #expect(bad.withUnsafeBytes { parser.parse($0, requestMethod: .get, into: &head) } == failed)
        // Until reset, even a good head gets the first failure back, still mapped to 502.
        #expect(good.withUnsafeBytes { parser.parse($0, requestMethod: .get, into: &head) } == failed)
        parser.reset()
        #expect(good.withUnsafeBytes { parser.parse($0, requestMethod: .get, into: &head) } == .complete)
    }

    @Test func resetKeepsHeaderCapacity() {
        let raw = bytes("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\nContent-Length: 0\r\n\r\n")
        var parser = ResponseHeadParser(maxHeaderBytes: 8192, maxHeaderCount: 64)
        var head = ResponseHead()
        #expect(raw.withUnsafeBytes { parser.parse($0, requestMethod: .get, into: &head) } == .complete)
        let capacity = head.headers.capacity
        for _ in 0..<10 {
            parser.reset()
            #expect(raw.withUnsafeBytes { parser.parse($0, requestMethod: .get, into: &head) } == .complete)
            #expect(head.headers.count == 4 && head.headers.capacity == capacity)
        }
        head.reset()
        #expect(head.headers.isEmpty && head.headers.capacity == capacity && head == ResponseHead())
    }

    @Test func oneByteAtATimeMatchesWhole() {
        let fixtures = [
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: x\r\nX: 1\r\n\r\nhello",
            "HTTP/1.0 301 Moved\r\nLocation: /a\r\n\r\n",
            "HTTP/1.1 200 OK\r\nX: a\r\n\tb\r\n\r\n",
        ]
        for text in fixtures {
            let raw = bytes(text)
            let whole = parseResponse(raw)
            var parser = ResponseHeadParser(maxHeaderBytes: 8192, maxHeaderCount: 64)
            var head = ResponseHead()
            var result = RequestHeadParser.Result.incomplete
            for cut in 1...raw.count where result == .incomplete {
                let prefix = Array(raw[..<cut])
                result = prefix.withUnsafeBytes { parser.parse($0, requestMethod: .get, into: &head) }
            }
            #expect(result == whole.0, "\(text)")
            #expect(head == whole.1, "\(text)")
        }
    }

    @Test func interimThenFinalResponse() {
        let raw = bytes("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
        var parser = ResponseHeadParser(maxHeaderBytes: 8192, maxHeaderCount: 64)
        var head = ResponseHead()
        #expect(raw.withUnsafeBytes { parser.parse($0, requestMethod: .post, into: &head) } == .complete)
        #expect(head.status == 100)
        let rest = Array(raw[head.headLength...])
        parser.reset()
        #expect(rest.withUnsafeBytes { parser.parse($0, requestMethod: .post, into: &head) } == .complete)
        #expect(head.status == 201 && head.framing == .contentLength(0) && head.keepAlive)
    }
}
