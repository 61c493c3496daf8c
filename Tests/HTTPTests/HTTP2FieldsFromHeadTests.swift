// RequestHead.forEachHTTP2Field and FieldsResponseWriter: an HTTP/1.1 request as HTTP/2 fields, an HTTP/2 response as HTTP/1.1 bytes.
@testable import HTTP
import Testing

@Suite struct HTTP2FieldsFromHeadTests {
    /// The fields `text`'s head becomes, as "name: value" lines, or nil when the storage did not fit them.
    private func fields(_ text: String, scheme: StaticString = "http", storage size: Int = 4096) -> [String]? {
        let raw = bytes(text)
        let (result, head) = parseRequest(raw)
        #expect(result == .complete)
        var lines: [String] = []
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 1)
        defer { storage.deallocate() }
        let done = raw.withUnsafeBytes { source in
            Array("192.0.2.7".utf8).withUnsafeBytes { peer in
                head.forEachHTTP2Field(source: source, clientAddress: peer, proto: "https", scheme: scheme, storage: storage) {
                    lines.append(String(decoding: $0, as: UTF8.self) + ": " + String(decoding: $1, as: UTF8.self))
                }
            }
        }
        return done ? lines : nil
    }

    @Test func pseudoFieldsComeFirstFromTheRequestLineAndHost() {
        let f = fields("GET /a?b=1 HTTP/1.1\r\nHost: app.example:8080\r\n\r\n", scheme: "https")
        #expect(Array(f?.prefix(4) ?? []) == [":method: GET", ":scheme: https", ":authority: app.example:8080", ":path: /a?b=1"])
    }

    @Test func anAbsoluteFormAuthorityWinsOverHostAndAnEmptyPathBecomesSlash() {
        let f = fields("GET http://real.example?x HTTP/1.1\r\nHost: other.example\r\n\r\n") ?? []
        #expect(f.contains(":authority: real.example"))
        #expect(f.contains(":path: /?x"))
        #expect(!f.contains { $0.hasPrefix("host: ") })
    }

    @Test func namesAreLowerCasedAndConnectionSpecificFieldsDropped() {
        let f =
            fields(
                "POST / HTTP/1.1\r\nHost: h\r\nX-Custom: Keep Me\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\n"
                    + "Keep-Alive: timeout=5\r\nProxy-Connection: x\r\nUpgrade: websocket\r\nTransfer-Encoding: chunked\r\n"
                    + "Expect: 100-continue\r\nTrailer: x-sum\r\n\r\n") ?? []
        #expect(f.contains("x-custom: Keep Me"))
        for name in ["connection", "x-hop", "keep-alive", "proxy-connection", "upgrade", "transfer-encoding", "expect", "trailer", "host"] {
            #expect(!f.contains { $0.lowercased().hasPrefix("\(name): ") }, "\(name) dropped: \(f)")
        }
    }

    @Test func teIsKeptOnlyAsTrailers() {
        #expect(fields("GET / HTTP/1.1\r\nHost: h\r\nTE: gzip, Trailers\r\n\r\n")?.contains("te: trailers") == true)
        #expect(fields("GET / HTTP/1.1\r\nHost: h\r\nTE: gzip\r\n\r\n")?.contains { $0.hasPrefix("te: ") } == false)
    }

    @Test func theForwardingFieldsAreComposedAsForHTTP1Upstreams() {
        let f =
            fields(
                "GET / HTTP/1.1\r\nHost: h.example\r\nX-Forwarded-For: 10.0.0.1\r\nX-Forwarded-Proto: gopher\r\n"
                    + "Forwarded: for=10.0.0.1\r\nForwarded: for=\"unclosed\r\n\r\n") ?? []
        #expect(f.contains("x-forwarded-for: 10.0.0.1, 192.0.2.7"))
        #expect(f.contains("x-forwarded-proto: https"))
        #expect(!f.contains("x-forwarded-proto: gopher"))
        #expect(f.contains("x-forwarded-host: h.example"))
        #expect(f.contains("forwarded: for=10.0.0.1, for=192.0.2.7;host=\"h.example\";proto=https"))
    }

    @Test func storageTooSmallIsReported() {
        #expect(fields("GET / HTTP/1.1\r\nHost: h\r\nX-Long-Name-Here: v\r\n\r\n", storage: 8) == nil)
    }

    // MARK: FieldsResponseWriter

    private func written(_ body: (inout FieldsResponseWriter) -> Void) -> String? {
        var out = [UInt8](repeating: 0, count: 512)
        return out.withUnsafeMutableBytes { buffer in
            var w = FieldsResponseWriter(into: buffer)
            body(&w)
            return w.result.map { String(decoding: buffer[0..<$0], as: UTF8.self) }
        }
    }

    private func field(_ w: inout FieldsResponseWriter, _ name: String, _ value: String) {
        Array(name.utf8).withUnsafeBytes { n in Array(value.utf8).withUnsafeBytes { v in w.field(name: n, value: v) } }
    }

    @Test func theHeadGetsAStatusLineAndLosesConnectionSpecificFields() {
        var sawLength = false
        let text = written { w in
            w.statusLine(404)
            field(&w, "content-type", "text/plain")
            field(&w, "connection", "close")
            field(&w, "transfer-encoding", "chunked")
            field(&w, "content-length", "3")
            field(&w, "content-length", "4")
            sawLength = w.sawContentLength
            w.endHead(chunked: false, zeroLength: false, connection: .keepAlive)
        }
        #expect(text == "HTTP/1.1 404 Not Found\r\ncontent-type: text/plain\r\ncontent-length: 3\r\nconnection: keep-alive\r\n\r\n")
        #expect(sawLength)
    }

    @Test func chunksAndTheTrailerSectionAreFramedAndForbiddenTrailersDropped() {
        let text = written { w in
            w.chunkSize(0x1a2)
            w.chunkEnd()
            w.lastChunk()
            Array("grpc-status".utf8).withUnsafeBytes { n in Array("0".utf8).withUnsafeBytes { w.trailer(name: n, value: $0) } }
            Array("content-length".utf8).withUnsafeBytes { n in Array("9".utf8).withUnsafeBytes { w.trailer(name: n, value: $0) } }
            w.endTrailers()
        }
        #expect(text == "1a2\r\n\r\n0\r\ngrpc-status: 0\r\n\r\n")
    }

    @Test func aBufferTooSmallIsReported() {
        var out = [UInt8](repeating: 0, count: 8)
        let result = out.withUnsafeMutableBytes { buffer in
            var w = FieldsResponseWriter(into: buffer)
            w.statusLine(200)
            return w.result
        }
        #expect(result == nil)
    }
}
