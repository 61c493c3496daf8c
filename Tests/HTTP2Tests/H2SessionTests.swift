// H2Session against a real nghttp2 client in memory: events, responses, settings, both flow-control directions, limits, resets, shutdown.
import CNGHTTP2
import HTTP2
import Testing

/// A valid client magic followed by an HTTP/1.1 request, read as a frame that is not the required SETTINGS.
private let clientPrefaceThenGarbage = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8)

@Suite struct H2SessionTests {
    @Test func getRequestEventsAndAPiecewiseResponse() throws {
        let pair = try H2Pair()
        let id = pair.client.submitRequest(get("/items?page=2") + [Field("user-agent", "test/1"), Field("accept", "*/*")])
        try pair.pump()

        #expect(
            pair.recorder.events == [
                .began(id),
                .field(id, ":method", "GET", trailer: false),
                .field(id, ":scheme", "http", trailer: false),
                .field(id, ":authority", "example.com", trailer: false),
                .field(id, ":path", "/items?page=2", trailer: false),
                .field(id, "user-agent", "test/1", trailer: false),
                .field(id, "accept", "*/*", trailer: false),
                .headEnded(id, endStream: true),
            ])

        // Half the body is available, in 7,000-byte reads; the rest only after resume.
        let body = pattern(50_000)
        let source = BodySource(body, chunk: 7_000, released: 25_000)
        try pair.respond(id, fields: [Field("content-type", "text/plain")], body: source)
        try pair.pump()
        let response = pair.client.stream(id)
        #expect(response.fields == [Field(":status", "200"), Field("content-type", "text/plain")])
        #expect(response.body == Array(body[..<25_000]))
        #expect(!response.ended)
        #expect(source.deferrals == 1)

        // Deferred means not asked again: pumping without resume changes nothing.
        try pair.pump()
        #expect(source.deferrals == 1)
        #expect(response.body.count == 25_000)

        source.released = body.count
        pair.server.resume(stream: id)
        try pair.pump()
        #expect(response.body == body)
        #expect(response.ended)
        #expect(response.closeCode == 0)
        // 7,000 + 7,000 + 7,000 + 4,000, the deferral, then the same again.
        #expect(source.reads == 9)
        #expect(pair.recorder.events.last == .closed(id, 0))
    }

    @Test func theClientSeesTheServersSettings() throws {
        let pair = try H2Pair()
        try pair.pump()
        #expect(pair.client.remoteSetting(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS) == 100)
        #expect(pair.client.remoteSetting(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE) == 65_535)
        #expect(pair.client.remoteSetting(NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE) == 16 * 1024)
        #expect(pair.client.remoteWindowSize == 1 << 20)

        // Non-default values, so none of them can be nghttp2's own default showing through.
        let custom = try H2Pair(
            settings: H2Settings(
                maxConcurrentStreams: 7, initialWindowSize: 100_000,
                connectionWindowSize: 3 << 20, maxHeaderListSize: 4096))
        try custom.pump()
        #expect(custom.client.remoteSetting(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS) == 7)
        #expect(custom.client.remoteSetting(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE) == 100_000)
        #expect(custom.client.remoteSetting(NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE) == 4096)
        #expect(custom.client.remoteWindowSize == 3 << 20)
    }

    @Test func aRequestBodyWaitsForConsumeBeyondTheStreamWindow() throws {
        let pair = try H2Pair()
        let body = pattern(200_000, seed: 7)
        let id = pair.client.submitRequest(
            [Field(":method", "POST"), Field(":scheme", "http"), Field(":authority", "example.com"), Field(":path", "/upload")],
            body: body)
        try pair.pump()
        #expect(pair.recorder.received[id]?.count == 65_535)
        #expect(pair.client.stream(id).uploaded == 65_535)

        // Nothing consumed: the client's provider is not asked for more however long we wait.
        try pair.pump()
        #expect(pair.client.stream(id).uploaded == 65_535)

        var consumed = 0
        for _ in 0..<10 where !pair.recorder.events.contains(.requestEnded(id)) {
            let received = pair.recorder.received[id]?.count ?? 0
            pair.server.consume(stream: id, received - consumed)
            consumed = received
            try pair.pump()
            #expect((pair.recorder.received[id]?.count ?? 0) - consumed <= 65_535)
        }
        #expect(pair.recorder.received[id] == body)
        #expect(pair.recorder.events.contains(.requestEnded(id)))
    }

    /// The connection window is acknowledged as DATA arrives, so only the stream windows bound what is
    /// held: a stream that ends with bytes unconsumed cannot starve the others.
    @Test func onlyTheStreamWindowsBoundWhatIsHeld() throws {
        let pair = try H2Pair(settings: H2Settings(connectionWindowSize: 100_000))
        let post = [Field(":method", "POST"), Field(":scheme", "http"), Field(":authority", "example.com"), Field(":path", "/up")]
        let bodies = [pattern(80_000, seed: 1), pattern(80_000, seed: 2)]
        let ids = bodies.map { pair.client.submitRequest(post, body: $0) }
        try pair.pump()
        // Each stream's window lets 65,535 bytes in, the 100,000-byte connection window does not cap the sum.
        let held = ids.map { pair.recorder.received[$0]?.count ?? 0 }
        #expect(held == [65_535, 65_535])

        var consumed = [0, 0]
        for _ in 0..<10 where !ids.allSatisfy({ pair.recorder.events.contains(.requestEnded($0)) }) {
            for (i, id) in ids.enumerated() {
                let received = pair.recorder.received[id]?.count ?? 0
                pair.server.consume(stream: id, received - consumed[i])
                consumed[i] = received
            }
            try pair.pump()
            for (i, id) in ids.enumerated() { #expect((pair.recorder.received[id]?.count ?? 0) - consumed[i] <= 65_535) }
        }
        #expect(pair.recorder.received[ids[0]] == bodies[0])
        #expect(pair.recorder.received[ids[1]] == bodies[1])
    }

    @Test func aFailedSubmitLeavesNoFieldsForTheNextResponse() throws {
        let pair = try H2Pair()
        let id = pair.client.submitRequest(get())
        try pair.pump()
        // Stream 0 cannot carry a response: the submit throws after the fields were added.
        #expect(throws: H2Error.self) { try pair.respond(0, fields: [Field("x-stale", "1")]) }
        try pair.respond(id, status: 404, fields: [Field("x-fresh", "2")])
        try pair.pump()
        #expect(pair.client.stream(id).fields == [Field(":status", "404"), Field("x-fresh", "2")])
    }

    @Test func aResponseBodyWaitsForTheClientsWindow() throws {
        let pair = try H2Pair(client: H2TestClient(initialWindowSize: 16_384, autoWindowUpdate: false))
        let id = pair.client.submitRequest(get())
        try pair.pump()
        let body = pattern(40_000, seed: 3)
        let source = BodySource(body)
        try pair.respond(id, body: source)
        try pair.pump()
        let response = pair.client.stream(id)
        #expect(response.body.count == 16_384)
        // The session only asks the body source for what the window allows.
        #expect(source.offset == 16_384)

        var consumed = 0
        for _ in 0..<10 where !response.ended {
            pair.client.consume(stream: id, response.body.count - consumed)
            consumed = response.body.count
            try pair.pump()
            #expect(response.body.count - consumed <= 16_384)
        }
        #expect(response.body == body)
        #expect(response.ended)
    }

    @Test func streamsBeyondTheConcurrencyLimitAreRefused() throws {
        // The client is told the server takes any number of streams, as if it sent before reading the
        // server's SETTINGS (nghttp2 would otherwise hold back all beyond 100 on its own).
        let pair = try H2Pair(client: H2TestClient(peerMaxConcurrentStreams: 1000))
        let ids = (0..<105).map { pair.client.submitRequest(get("/\($0)")) }
        try pair.pump()
        #expect(pair.recorder.begun == Array(ids[..<100]))

        for id in pair.recorder.begun { try pair.respond(id, status: 204) }
        try pair.pump()
        for id in ids[..<100] {
            let s = pair.client.stream(id)
            #expect(s.fields == [Field(":status", "204")], "stream \(id)")
            #expect(s.ended && s.resetCode == nil && s.closeCode == 0, "stream \(id)")
        }
        for id in ids[100...] {
            let s = pair.client.stream(id)
            #expect(s.resetCode == H2ErrorCode.refusedStream.rawValue, "stream \(id)")
            #expect(s.fields.isEmpty, "stream \(id)")
        }
    }

    @Test func aResetReachesTheClientAndSparesTheOtherStreams() throws {
        let pair = try H2Pair()
        let first = pair.client.submitRequest(get("/a"))
        let second = pair.client.submitRequest(get("/b"))
        try pair.pump()

        // The first stream's head is out and its body is pending when the upstream fails.
        try pair.respond(first, body: BodySource(pattern(1000), released: 0))
        try pair.pump()
        pair.server.reset(stream: first, code: .internalError)
        try pair.respond(second, body: BodySource(pattern(3000, seed: 1)))
        try pair.pump()

        let a = pair.client.stream(first)
        #expect(a.fields == [Field(":status", "200")])
        #expect(a.body.isEmpty)
        #expect(a.resetCode == H2ErrorCode.internalError.rawValue)
        #expect(a.closeCode == H2ErrorCode.internalError.rawValue)
        let b = pair.client.stream(second)
        #expect(b.resetCode == nil)
        #expect(b.body == pattern(3000, seed: 1))
        #expect(b.ended)
        #expect(pair.recorder.events.contains(.closed(first, H2ErrorCode.internalError.rawValue)))
        #expect(pair.recorder.events.contains(.closed(second, 0)))
    }

    @Test func aFailedBodyReadResetsTheStream() throws {
        let pair = try H2Pair()
        let id = pair.client.submitRequest(get())
        try pair.pump()
        try pair.respond(id, body: BodySource(pattern(30_000), chunk: 5_000, failAt: 10_000))
        try pair.pump()
        let s = pair.client.stream(id)
        #expect(s.body == pattern(10_000))
        #expect(!s.ended)
        #expect(s.resetCode == H2ErrorCode.internalError.rawValue)
    }

    @Test func goAwayLetsOpenStreamsFinishThenTheSessionEnds() throws {
        let pair = try H2Pair()
        let first = pair.client.submitRequest(get("/a"))
        let second = pair.client.submitRequest(get("/b"))
        try pair.pump()
        #expect(pair.server.isActive)

        pair.server.goAway()
        try pair.pump()
        #expect(pair.client.goAways.count == 1)
        #expect(pair.client.goAways.first?.errorCode == H2ErrorCode.noError.rawValue)
        #expect(pair.client.goAways.first?.lastStreamID == second)
        #expect(pair.server.isActive, "two streams are still open")

        try pair.respond(first, body: BodySource(pattern(100)))
        try pair.pump()
        #expect(pair.server.isActive, "one stream is still open")
        try pair.respond(second, status: 204)
        try pair.pump()
        #expect(pair.client.stream(first).ended && pair.client.stream(second).ended)
        #expect(!pair.server.isActive)
    }

    @Test func garbageAfterThePrefaceEndsTheSessionWithGoAway() throws {
        let recorder = ServerRecorder()
        let server = try H2Session(delegate: recorder, settings: H2Settings())
        // Whether this throws is `receiveThrowsOnAProtocolErrorAfterThePreface`'s concern; the GOAWAY is this one's.
        try? clientPrefaceThenGarbage.withUnsafeBytes { try server.receive($0) }

        var out = [UInt8](repeating: 0, count: 4096)
        let n = try out.withUnsafeMutableBytes { try server.send(into: $0) }
        let sent = try #require(frames(Array(out[..<n])))
        let goAway = try #require(sent.first { $0.type == UInt8(NGHTTP2_GOAWAY.rawValue) })
        #expect(goAway.stream == 0)
        #expect(bigEndian32(goAway.payload, at: 0) == 0, "last stream id")
        #expect(bigEndian32(goAway.payload, at: 4) == H2ErrorCode.protocolError.rawValue)
        #expect(!server.isActive)
        #expect(recorder.events.isEmpty)
    }

    @Test func aWrongPrefaceThrows() throws {
        let server = try H2Session(delegate: ServerRecorder(), settings: H2Settings())
        let input = Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        let error = #expect(throws: H2Error.self) { try input.withUnsafeBytes { try server.receive($0) } }
        #expect(error?.code == Int(NGHTTP2_ERR_BAD_CLIENT_MAGIC.rawValue))
    }

    @Test func aTinyOutputBufferStillDeliversEveryFrame() throws {
        let pair = try H2Pair()
        let id = pair.client.submitRequest(get())
        try pair.pump(serverBufferSize: 7)
        let body = pattern(30_000, seed: 9)
        try pair.respond(
            id, fields: [Field("content-type", "application/octet-stream"), Field("x-long", String(repeating: "v", count: 300))],
            body: BodySource(body, chunk: 4_000))
        // Every frame crosses in pieces of at most 7 bytes, each fed to the client on its own.
        try pair.pump(rounds: 50, serverBufferSize: 7)
        let s = pair.client.stream(id)
        #expect(
            s.fields == [
                Field(":status", "200"), Field("content-type", "application/octet-stream"),
                Field("x-long", String(repeating: "v", count: 300)),
            ])
        #expect(s.body == body)
        #expect(s.ended)
        #expect(s.closeCode == 0)
    }

    @Test func requestTrailersAreReportedThenTheRequestEnds() throws {
        let pair = try H2Pair()
        let body = pattern(1_000)
        let id = pair.client.submitRequest(
            [Field(":method", "POST"), Field(":scheme", "http"), Field(":authority", "example.com"), Field(":path", "/t")],
            body: body, trailers: [Field("x-checksum", "abc"), Field("x-count", "1000")])
        try pair.pump()
        #expect(pair.recorder.received[id] == body)
        #expect(
            Array(pair.recorder.events.suffix(4)) == [
                .headEnded(id, endStream: false),
                .field(id, "x-checksum", "abc", trailer: true),
                .field(id, "x-count", "1000", trailer: true),
                .requestEnded(id),
            ])
    }
}
