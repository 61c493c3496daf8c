// Malformed request heads, one byte fixture per rule: each must be rejected with the right status.

@testable import HTTP
import Testing

private func get(_ fields: String, version: String = "HTTP/1.1") -> String {
    "GET / \(version)\r\nHost: h\r\n\(fields)\r\n"
}

private func post(_ fields: String, version: String = "HTTP/1.1") -> String {
    "POST / \(version)\r\nHost: h\r\n\(fields)\r\n"
}

let framingFixtures: [Rejected] = [
    Rejected("CL then TE", post("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n")),
    Rejected("TE then CL", post("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n")),
    Rejected("TE gzip only", post("Transfer-Encoding: gzip\r\n")),
    Rejected("TE chunked then gzip", post("Transfer-Encoding: chunked, gzip\r\n")),
    Rejected("TE chunked twice in one field", post("Transfer-Encoding: chunked, chunked\r\n")),
    Rejected("TE chunked twice in two fields", post("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n")),
    Rejected("TE chunked with parameter", post("Transfer-Encoding: chunked;x=1\r\n")),
    Rejected("TE empty", post("Transfer-Encoding:\r\n")),
    Rejected("TE garbage coding", post("Transfer-Encoding: ch unked\r\n")),
    Rejected("TE unknown before chunked", post("Transfer-Encoding: foo, chunked\r\n"), 501),
    Rejected("TE gzip before chunked", post("Transfer-Encoding: gzip, chunked\r\n"), 501),
    Rejected("TE gzip field then chunked field", post("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n"), 501),
    Rejected("TE in HTTP/1.0", post("Transfer-Encoding: chunked\r\n", version: "HTTP/1.0")),
    Rejected("CL differing fields", post("Content-Length: 5\r\nContent-Length: 6\r\n")),
    Rejected("CL differing list", post("Content-Length: 5, 6\r\n")),
    Rejected("CL plus sign", post("Content-Length: +5\r\n")),
    Rejected("CL minus sign", post("Content-Length: -5\r\n")),
    Rejected("CL space inside", post("Content-Length: 5 5\r\n")),
    Rejected("CL hex", post("Content-Length: 0x5\r\n")),
    Rejected("CL letters", post("Content-Length: five\r\n")),
    Rejected("CL empty", post("Content-Length:\r\n")),
    Rejected("CL empty element", post("Content-Length: 5,,5\r\n")),
    Rejected("CL trailing comma", post("Content-Length: 5,\r\n")),
    Rejected("CL decimal point", post("Content-Length: 5.0\r\n")),
    Rejected("CL overflow", post("Content-Length: 18446744073709551616\r\n")),
    Rejected("CL huge overflow", post("Content-Length: 99999999999999999999999\r\n")),
]

let fieldFixtures: [Rejected] = [
    Rejected("space before colon", get("X-A : 1\r\n")),
    Rejected("tab before colon", get("X-A\t: 1\r\n")),
    Rejected("space before colon on Host", "GET / HTTP/1.1\r\nHost : h\r\n\r\n"),
    Rejected("obs-fold with SP", get("X-A: 1\r\n 2\r\n")),
    Rejected("obs-fold with HTAB", get("X-A: 1\r\n\t2\r\n")),
    Rejected("whitespace before first field", "GET / HTTP/1.1\r\n Host: h\r\n\r\n"),
    Rejected("CR inside value", get("X-A: 1\r2\r\n")),
    Rejected("CR at end of value", get("X-A: 1\r\r\n")),
    Rejected("NUL in value", get("X-A: 1\u{0}2\r\n")),
    Rejected("SOH in value", get("X-A: \u{1}\r\n")),
    Rejected("ESC in value", get("X-A: a\u{1B}b\r\n")),
    Rejected("DEL in value", get("X-A: a\u{7F}b\r\n")),
    Rejected("bare LF ends a field", get("X-A: 1\nX-B: 2\r\n")),
    Rejected("bare LF ends the head", "GET / HTTP/1.1\r\nHost: h\r\n\n"),
    Rejected("bare LF ends the request line", "GET / HTTP/1.1\nHost: h\r\n\r\n"),
    Rejected("bare LF as leading empty line", "\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"),
    Rejected("bare LF as first byte of a field", get("\nX: 1\r\n")),
    Rejected("empty field name", get(": value\r\n")),
    Rejected("non-tchar in name (paren)", get("X(A): 1\r\n")),
    Rejected("non-tchar in name (quote)", get("X\"A: 1\r\n")),
    Rejected("non-tchar in name (non-ASCII)", get("Ä: 1\r\n")),
    Rejected("field line without colon", get("X-A\r\n")),
    Rejected("invalid connection option", get("Connection: close x\r\n")),
    Rejected("unsupported expectation", get("Expect: something\r\n"), 417),
]

let hostFixtures: [Rejected] = [
    Rejected("missing Host in HTTP/1.1", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n"),
    Rejected("missing Host with absolute-form", "GET http://h/ HTTP/1.1\r\n\r\n"),
    Rejected("two Host fields", "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"),
    Rejected("Host with space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n"),
    Rejected("Host with userinfo", "GET / HTTP/1.1\r\nHost: user@h\r\n\r\n"),
    Rejected("Host with path", "GET / HTTP/1.1\r\nHost: h/p\r\n\r\n"),
    Rejected("Host unclosed IPv6", "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n"),
    Rejected("Host bad IPv6 char", "GET / HTTP/1.1\r\nHost: [::g]\r\n\r\n"),
    Rejected("Host empty port", "GET / HTTP/1.1\r\nHost: h:\r\n\r\n"),
    Rejected("Host long port", "GET / HTTP/1.1\r\nHost: h:123456\r\n\r\n"),
    Rejected("Host letters in port", "GET / HTTP/1.1\r\nHost: h:8o\r\n\r\n"),
    Rejected("Host bad percent", "GET / HTTP/1.1\r\nHost: a%zz\r\n\r\n"),
    Rejected("Host truncated percent", "GET / HTTP/1.1\r\nHost: a%4\r\n\r\n"),
    Rejected("Host only port", "GET / HTTP/1.1\r\nHost: :80\r\n\r\n"),
]

let requestLineFixtures: [Rejected] = [
    Rejected("method with paren", "GE(T / HTTP/1.1\r\nHost: h\r\n\r\n"),
    Rejected("method with non-ASCII", "GÉT / HTTP/1.1\r\nHost: h\r\n\r\n"),
    Rejected("empty method", " / HTTP/1.1\r\nHost: h\r\n\r\n"),
    Rejected("tab after method", "GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n"),
    Rejected("two spaces after method", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n"),
    Rejected("two spaces after target", "GET /  HTTP/1.1\r\nHost: h\r\n\r\n"),
    Rejected("space after version", "GET / HTTP/1.1 \r\nHost: h\r\n\r\n"),
    Rejected("space inside target", "GET /a b HTTP/1.1\r\nHost: h\r\n\r\n"),
    Rejected("method only", "GET\r\nHost: h\r\n\r\n"),
    Rejected("no version", "GET /\r\nHost: h\r\n\r\n"),
    Rejected("tab in target", "GET /a\tb HTTP/1.1\r\nHost: h\r\n\r\n"),
    Rejected("NUL in target", "GET /a\u{0}b HTTP/1.1\r\nHost: h\r\n\r\n"),
    Rejected("DEL in target", "GET /a\u{7F} HTTP/1.1\r\nHost: h\r\n\r\n"),
    Rejected("non-ASCII in target", "GET /é HTTP/1.1\r\nHost: h\r\n\r\n"),
    Rejected("fragment in target", "GET /a#b HTTP/1.1\r\nHost: h\r\n\r\n"),
    Rejected("relative target", "GET a/b HTTP/1.1\r\nHost: h\r\n\r\n"),
    Rejected("asterisk for GET", "GET * HTTP/1.1\r\nHost: h\r\n\r\n"),
    Rejected("authority-form for GET", "GET h:80 HTTP/1.1\r\nHost: h\r\n\r\n"),
    Rejected("ftp scheme", "GET ftp://h/ HTTP/1.1\r\nHost: h\r\n\r\n"),
    Rejected("userinfo in absolute-form", "GET http://u@h/ HTTP/1.1\r\nHost: h\r\n\r\n"),
    Rejected("empty authority", "GET http:///p HTTP/1.1\r\nHost: h\r\n\r\n"),
    Rejected("CONNECT", "CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n", 501),
    Rejected("version with suffix", "GET / HTTP/1.1x\r\nHost: h\r\n\r\n"),
    Rejected("lowercase version", "GET / http/1.1\r\nHost: h\r\n\r\n"),
    Rejected("version without minor", "GET / HTTP/1\r\nHost: h\r\n\r\n"),
    Rejected("version with two-digit minor", "GET / HTTP/1.10\r\nHost: h\r\n\r\n"),
    Rejected("version letters", "GET / HTTP/a.b\r\nHost: h\r\n\r\n"),
    Rejected("HTTP/2.0", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505),
    Rejected("HTTP/0.9", "GET / HTTP/0.9\r\nHost: h\r\n\r\n", 505),
]

@Suite struct RequestRejectionTests {
    private func expectRejected(_ fixture: Rejected) {
        let whole = parseRequest(fixture.raw)
        #expect(status(whole.0) == fixture.status, "whole: \(whole.0)")
        // Fed one byte at a time, the verdict must be the same.
        let piecewise = parseRequestIncrementally(fixture.raw, cuts: Array(0..<fixture.raw.count))
        #expect(piecewise.0 == whole.0)
    }

    @Test(arguments: framingFixtures) func framing(_ fixture: Rejected) { expectRejected(fixture) }
    @Test(arguments: fieldFixtures) func fields(_ fixture: Rejected) { expectRejected(fixture) }
    @Test(arguments: hostFixtures) func host(_ fixture: Rejected) { expectRejected(fixture) }
    @Test(arguments: requestLineFixtures) func requestLine(_ fixture: Rejected) { expectRejected(fixture) }

    @Test func headTooLarge() {
        let raw = bytes("GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + String(repeating: "a", count: 200) + "\r\n\r\n")
        #expect(status(parseRequest(raw, maxHeaderBytes: 100).0) == 431)
        // Reported as soon as maxHeaderBytes have arrived without an end of head, not only at the end.
        #expect(status(parseRequest(Array(raw[..<100]), maxHeaderBytes: 100).0) == 431)
        #expect(parseRequest(Array(raw[..<99]), maxHeaderBytes: 100).0 == .incomplete)
        // Leading empty lines count against the limit too.
        let padded = bytes(String(repeating: "\r\n", count: 60) + "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(status(parseRequest(padded, maxHeaderBytes: 100).0) == 431)
    }

    @Test func tooManyFields() {
        let fields = (0..<5).map { "X-\($0): v\r\n" }.joined()
        let raw = bytes("GET / HTTP/1.1\r\nHost: h\r\n\(fields)\r\n")
        #expect(parseRequest(raw, maxHeaderCount: 6).0 == .complete)
        #expect(parseRequest(raw, maxHeaderCount: 5).0 == .error(HTTPParseError(status: 431, reason: "too many header fields")))
    }

    @Test func errorIsSticky() {
        let raw = bytes("GET / HTTP/1.1\r\nHost : h\r\n\r\n")
        var parser = RequestHeadParser(maxHeaderBytes: 8192, maxHeaderCount: 64)
        var head = RequestHead()
        let first = raw.withUnsafeBytes { parser.parse($0, into: &head) }
        #expect(first == .error(.badRequest("whitespace between field name and colon")))
        #expect(raw.withUnsafeBytes { parser.parse($0, into: &head) } == first)
    }
}
