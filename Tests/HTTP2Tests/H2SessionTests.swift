// The server session against an in-memory nghttp2 client: request events, responses with pulled bodies, the stream limit, partial sends.
import CNGHTTP2
import HTTP2
import Testing

/// Records the session's events and answers every request with `body` in pieces of `piece` bytes,
/// deferring once before the first piece.
private final class Recorder: H2SessionDelegate {
    var fields: [Int32: [(String, String)]] = [:]
    var headEnded: [Int32: Bool] = [:]
    var closed: [Int32: UInt32] = [:]
    var sent: Set<Int32> = []
    var resetByClient: Set<Int32> = []
    var body: [UInt8]
    var piece: Int
    var offsets: [Int32: Int] = [:]
    var deferredOnce: Set<Int32> = []
    var pendingResume: [Int32] = []
    /// Streams to answer once their heads are in (the test submits, outside the callbacks).
    var toAnswer: [Int32] = []

    init(body: [UInt8], piece: Int) { self.body = body; self.piece = piece }

    func h2StreamBegan(_ stream: Int32) { fields[stream] = [] }
    func h2Field(_ stream: Int32, name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, trailer: Bool) {
        fields[stream, default: []].append((String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
    }
    func h2HeadEnded(_ stream: Int32, endStream: Bool) {
        headEnded[stream] = endStream
        toAnswer.append(stream)
    }
    func h2Data(_ stream: Int32, _ bytes: UnsafeRawBufferPointer) {}
    func h2RequestEnded(_ stream: Int32) {}
    func h2StreamClosed(_ stream: Int32, errorCode: UInt32) { closed[stream] = errorCode }
    func h2ResponseSent(_ stream: Int32) { sent.insert(stream) }
    func h2StreamResetByClient(_ stream: Int32) { resetByClient.insert(stream) }
    func h2ReadBody(_ stream: Int32, into buffer: UnsafeMutableRawBufferPointer) -> H2BodyRead {
        if !deferredOnce.contains(stream) {
            deferredOnce.insert(stream)
            pendingResume.append(stream)
            return .deferred
        }
        let offset = offsets[stream, default: 0]
        let n = min(piece, buffer.count, body.count - offset)
        body.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + offset, byteCount: n) }
        offsets[stream] = offset + n
        return .bytes(n, last: offset + n == body.count)
    }
}

@Suite struct H2SessionTests {
    private func answer(_ recorder: Recorder, _ session: H2Session) throws {
        for stream in recorder.toAnswer {
            session.addField(name: UnsafeRawBufferPointer(start: ("x-test" as StaticString).utf8Start, count: 6),
                             value: UnsafeRawBufferPointer(start: ("yes" as StaticString).utf8Start, count: 3))
            try session.submitResponse(stream: stream, status: 200, hasBody: true)
        }
        recorder.toAnswer.removeAll()
    }

    private func resumeDeferred(_ recorder: Recorder, _ session: H2Session) {
        for stream in recorder.pendingResume { session.resume(stream: stream) }
        recorder.pendingResume.removeAll()
    }

    @Test func aRequestsFieldsArriveInOrderAndAPulledBodyArrivesWhole() throws {
        let body = (0..<50_000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let recorder = Recorder(body: body, piece: 3_000)
        let session = try H2Session(delegate: recorder, settings: H2Settings())
        let client = MemoryClient()
        let id = client.get("/a?b=c")
        try client.pump(session)
        #expect(recorder.fields[id]?.map(\.0) == [":method", ":scheme", ":authority", ":path"])
        #expect(recorder.fields[id]?.last?.1 == "/a?b=c")
        #expect(recorder.headEnded[id] == true, "a GET has no body: the head ends the request")
        try answer(recorder, session)
        try client.pump(session)
        // The body source said "later" once: nothing is sent until it is resumed.
        #expect(client.record.body[id] == nil)
        resumeDeferred(recorder, session)
        try client.pump(session)
        #expect(client.record.status[id] == "200")
        #expect(client.record.body[id] == body)
        #expect(client.record.ended.contains(id))
        #expect(recorder.sent.contains(id), "the last frame's send is reported")
        #expect(recorder.closed[id] == 0)
    }

    @Test func theClientLearnsTheStreamLimitAndTheWindowFromTheFirstSettings() throws {
        let recorder = Recorder(body: [], piece: 1)
        let session = try H2Session(delegate: recorder, settings: H2Settings(maxConcurrentStreams: 100, initialWindowSize: 65_535,
                                                                             maxHeaderListSize: 8_192))
        let client = MemoryClient()
        client.get("/")
        try client.pump(session)
        #expect(client.remoteSetting(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS) == 100)
        #expect(client.remoteSetting(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE) == 65_535)
        #expect(client.remoteSetting(NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE) == 8_192)
    }

    @Test func aStreamBeyondTheLimitIsRefusedAndTheOthersLive() throws {
        let recorder = Recorder(body: Array("ok".utf8), piece: 100)
        let session = try H2Session(delegate: recorder, settings: H2Settings(maxConcurrentStreams: 3))
        let client = MemoryClient()
        // All four go out with the client's preface, before it could learn the limit: the server must enforce it.
        let ids = (0..<4).map { _ in client.get("/") }
        try client.pump(session)
        #expect(recorder.fields.keys.sorted() == Array(ids.prefix(3)), "the fourth stream never reached the delegate")
        #expect(client.record.resets[ids[3]] == H2ErrorCode.refusedStream.rawValue)
        #expect(client.record.goAwayCode == nil, "the connection lives on")
        try answer(recorder, session)
        resumeDeferred(recorder, session)
        try client.pump(session)
        resumeDeferred(recorder, session)
        try client.pump(session)
        for id in ids.prefix(3) { #expect(client.record.body[id] == Array("ok".utf8)) }
        // A slot is free again: a new stream is served.
        let next = client.get("/again")
        try client.pump(session)
        #expect(recorder.fields[next] != nil)
    }

    @Test func framesSurviveAnOutputBufferOfSevenBytes() throws {
        let body = [UInt8](repeating: 0x5a, count: 20_000)
        let recorder = Recorder(body: body, piece: 16_384)
        let session = try H2Session(delegate: recorder, settings: H2Settings())
        let client = MemoryClient()
        let id = client.get("/")
        try client.pump(session, chunk: 7)
        try answer(recorder, session)
        resumeDeferred(recorder, session)
        try client.pump(session, chunk: 7)
        resumeDeferred(recorder, session)
        try client.pump(session, chunk: 7)
        #expect(client.record.body[id] == body)
        #expect(client.record.ended.contains(id))
    }

    @Test func garbageAfterThePrefaceEndsTheSessionWithGoaway() throws {
        let recorder = Recorder(body: [], piece: 1)
        let session = try H2Session(delegate: recorder, settings: H2Settings())
        let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
        let garbage = [UInt8](repeating: 0xff, count: 32)
        // nghttp2 reports a connection error either as a failed receive or by queueing GOAWAY.
        _ = try? (preface + garbage).withUnsafeBytes { try session.receive($0) }
        var out = [UInt8](repeating: 0, count: 4096)
        let n = try out.withUnsafeMutableBytes { try session.send(into: $0) }
        // Frames: SETTINGS, then GOAWAY (type 7) somewhere in what was sent.
        var i = 0
        var types: [UInt8] = []
        while i + 9 <= n {
            let length = Int(out[i]) << 16 | Int(out[i + 1]) << 8 | Int(out[i + 2])
            types.append(out[i + 3])
            i += 9 + length
        }
        #expect(types.contains(UInt8(NGHTTP2_GOAWAY.rawValue)), "frame types sent: \(types)")
        #expect(!session.isActive, "the session is over once its GOAWAY is out")
        #expect(recorder.fields.isEmpty)
    }
}
