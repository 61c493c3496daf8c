// Exact bytes of the heads the proxy writes: rewritten requests and responses, and its own error responses.

@testable import HTTP
import Testing

private func rewriteRequest(
    _ text: String, client: String = "10.0.0.9", proto: StaticString = "http",
    capacity: Int = 4096
) -> String? {
    let raw = bytes(text)
    let (result, head) = parseRequest(raw)
    guard result == .complete else { return "parse: \(result)" }
    var out = [UInt8](repeating: 0, count: capacity)
    let clientBytes = bytes(client)
    let n = raw.withUnsafeBytes { source in
        clientBytes.withUnsafeBytes { address in
            out.withUnsafeMutableBytes {
                HeadWriter.writeRequest(head, source: source, clientAddress: address, proto: proto, into: $0)
            }
        }
    }
    return n.map { String(decoding: out[..<$0], as: UTF8.self) }
}

private func rewriteResponse(
    _ text: String, method: HTTPMethod = .get, chunked: Bool, connection: ConnectionDirective,
    capacity: Int = 4096
) -> String? {
    let raw = bytes(text)
    let (result, head) = parseResponse(raw, method: method)
    guard result == .complete else { return "parse: \(result)" }
    var out = [UInt8](repeating: 0, count: capacity)
    let n = raw.withUnsafeBytes { source in
        out.withUnsafeMutableBytes {
            HeadWriter.writeResponse(head, source: source, chunked: chunked, connection: connection, into: $0)
        }
    }
    return n.map { String(decoding: out[..<$0], as: UTF8.self) }
}

@Suite struct HeadWriterTests {
    @Test func rewrittenRequest() {
        let written = rewriteRequest(
            """
            GET /a?b HTTP/1.1\r
            Host: example.com\r
            User-Agent:  curl/8.5\r
            Connection: keep-alive, X-Trace\r
            X-Trace: 1\r
            X-Forwarded-For: 1.2.3.4\r
            X-Forwarded-Proto: https\r
            X-Forwarded-Host: spoofed\r
            Accept: */*\r
            X-Empty:\r
            \r

            """)
        #expect(
            written == """
                GET /a?b HTTP/1.1\r
                Host: example.com\r
                User-Agent:  curl/8.5\r
                Accept: */*\r
                X-Empty:\r
                X-Forwarded-For: 1.2.3.4, 10.0.0.9\r
                X-Forwarded-Proto: http\r
                X-Forwarded-Host: example.com\r
                Forwarded: for=10.0.0.9;host="example.com";proto=http\r
                \r

                """)
    }

    @Test func chunkedRequestFromHTTP10Client() {
        let written = rewriteRequest(
            "POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nX-Forwarded-For: a\r\nX-Forwarded-For: b, c\r\n\r\n",
            client: "[2001:db8::1]", proto: "https")
        #expect(
            written == "POST /up HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: a, b, c, [2001:db8::1]\r\n"
                + "X-Forwarded-Proto: https\r\nX-Forwarded-Host: h\r\nForwarded: for=\"[2001:db8::1]\";host=\"h\";proto=https\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        // Content-Length is an ordinary field and travels as received; the version is always upgraded to 1.1.
        let v10 = rewriteRequest("PUT /x HTTP/1.0\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\n")
        // Without any host, the HTTP/1.1 request gets the empty Host that RFC 9110 §7.2 prescribes.
        #expect(
            v10
                == "PUT /x HTTP/1.1\r\nContent-Length: 3\r\nHost: \r\nX-Forwarded-For: 10.0.0.9\r\nX-Forwarded-Proto: http\r\nForwarded: for=10.0.0.9;proto=http\r\n\r\n"
        )
        #expect(
            rewriteRequest("GET / HTTP/1.1\r\nHost:\r\n\r\n")
                == "GET / HTTP/1.1\r\nHost:\r\nX-Forwarded-For: 10.0.0.9\r\nX-Forwarded-Proto: http\r\nForwarded: for=10.0.0.9;proto=http\r\n\r\n"
        )
    }

    @Test func absoluteForm() {
        #expect(
            rewriteRequest("GET http://api.example:8080/x?y HTTP/1.1\r\nHost: other\r\nA: b\r\n\r\n")
                == "GET /x?y HTTP/1.1\r\nHost: api.example:8080\r\nA: b\r\nX-Forwarded-For: 10.0.0.9\r\n"
                + "X-Forwarded-Proto: http\r\nX-Forwarded-Host: api.example:8080\r\nForwarded: for=10.0.0.9;host=\"api.example:8080\";proto=http\r\n\r\n"
        )
        #expect(rewriteRequest("GET http://h?q HTTP/1.1\r\nHost: h\r\n\r\n")?.hasPrefix("GET /?q HTTP/1.1\r\n") == true)
        #expect(rewriteRequest("GET http://h HTTP/1.1\r\nHost: h\r\n\r\n")?.hasPrefix("GET / HTTP/1.1\r\n") == true)
        #expect(rewriteRequest("OPTIONS http://h HTTP/1.1\r\nHost: h\r\n\r\n")?.hasPrefix("OPTIONS * HTTP/1.1\r\n") == true)
        #expect(rewriteRequest("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n")?.hasPrefix("OPTIONS * HTTP/1.1\r\n") == true)
        // HTTP/1.0 without Host: the upstream HTTP/1.1 request still gets one.
        #expect(
            rewriteRequest("GET http://h:81/ HTTP/1.0\r\n\r\n")
                == "GET / HTTP/1.1\r\nHost: h:81\r\nX-Forwarded-For: 10.0.0.9\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: h:81\r\nForwarded: for=10.0.0.9;host=\"h:81\";proto=http\r\n\r\n"
        )
    }

    @Test func requestBufferTooSmall() {
        let text = "GET / HTTP/1.1\r\nHost: h\r\nA: b\r\n\r\n"
        let full = rewriteRequest(text)!
        let needed = full.utf8.count
        #expect(rewriteRequest(text, capacity: needed) == full)
        for capacity in 0..<needed {
            #expect(rewriteRequest(text, capacity: capacity) == nil)
        }
    }

    /// A list of identical values, repeats and leading zeros all leave as one canonical field.
    @Test func contentLengthIsRewrittenAsOneCanonicalField() {
        let request = "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 007, 7\r\nX-A: 1\r\ncontent-length:7\r\n\r\n"
        #expect(
            rewriteRequest(request) == "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 7\r\nX-A: 1\r\n"
                + "X-Forwarded-For: 10.0.0.9\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: h\r\nForwarded: for=10.0.0.9;host=\"h\";proto=http\r\n\r\n"
        )
        #expect(
            rewriteResponse(
                "HTTP/1.1 200 OK\r\nContent-Length: 0, 0\r\nContent-Length: 00\r\n\r\n",
                chunked: false, connection: .none) == "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    }

    @Test func rewrittenResponse() {
        let text = """
            HTTP/1.0 200 Fine\r
            Server: app\r
            Connection: keep-alive, X-Debug\r
            X-Debug: 1\r
            Keep-Alive: timeout=5\r
            Content-Length:  2\r
            \r

            """
        #expect(
            rewriteResponse(text, chunked: false, connection: .none)
                == "HTTP/1.1 200 Fine\r\nServer: app\r\nContent-Length: 2\r\n\r\n")
        #expect(
            rewriteResponse(text, chunked: false, connection: .keepAlive)
                == "HTTP/1.1 200 Fine\r\nServer: app\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n")
        #expect(
            rewriteResponse(
                "HTTP/1.1 503 \r\nTransfer-Encoding: chunked\r\nRetry-After: 1\r\n\r\n",
                chunked: true, connection: .close)
                == "HTTP/1.1 503 \r\nRetry-After: 1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
        // Too small: nil, never a truncated head.
        #expect(rewriteResponse(text, chunked: false, connection: .none, capacity: 20) == nil)
    }

    @Test func errorResponse() {
        var out = [UInt8](repeating: 0, count: 512)
        let n = out.withUnsafeMutableBytes {
            HeadWriter.writeErrorResponse(status: 502, message: "upstream sent an invalid response", close: true, into: $0)
        }
        #expect(
            n.map { String(decoding: out[..<$0], as: UTF8.self) } == """
                HTTP/1.1 502 Bad Gateway\r
                Content-Type: text/plain; charset=utf-8\r
                Content-Length: 34\r
                Connection: close\r
                \r
                upstream sent an invalid response

                """)
        let m = out.withUnsafeMutableBytes {
            HeadWriter.writeErrorResponse(status: 431, message: "x", close: false, into: $0)
        }
        #expect(
            m.map { String(decoding: out[..<$0], as: UTF8.self) }
                == "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 2\r\n\r\nx\n"
        )
        let tooSmall = out.withUnsafeMutableBytes {
            HeadWriter.writeErrorResponse(
                status: 400, message: "bad", close: true, into: UnsafeMutableRawBufferPointer(rebasing: $0[..<10]))
        }
        #expect(tooSmall == nil)
    }
}
