// An in-memory nghttp2 client and a scripted server delegate, so H2Session tests exchange real frames without sockets.
import CNGHTTP2
import HTTP2
import Testing

struct Field: Equatable, CustomStringConvertible {
    let name: String
    let value: String
    init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
    var description: String { "\(name): \(value)" }
}

/// Calls `body` with an nghttp2 name/value array whose pointers stay valid for the call (nghttp2 copies them).
func withNameValues<R>(_ fields: [Field], _ body: (UnsafePointer<nghttp2_nv>?, Int) -> R) -> R {
    var bytes: [UInt8] = []
    for f in fields { bytes += Array(f.name.utf8) + Array(f.value.utf8) }
    return bytes.withUnsafeMutableBufferPointer { storage in
        var offset = 0
        var nva: [nghttp2_nv] = []
        for f in fields {
            let name = storage.baseAddress! + offset
            let value = name + f.name.utf8.count
            offset += f.name.utf8.count + f.value.utf8.count
            nva.append(
                nghttp2_nv(
                    name: name, value: value, namelen: f.name.utf8.count, valuelen: f.value.utf8.count,
                    flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue)))
        }
        return nva.withUnsafeBufferPointer { body($0.baseAddress, $0.count) }
    }
}

/// One stream as the client sees it: what it uploads, and the response that came back.
final class ClientStream {
    var upload: [UInt8] = []
    /// Request-body bytes the client's data provider has handed to nghttp2 so far.
    var uploaded = 0
    var trailers: [Field] = []
    var fields: [Field] = []
    var body: [UInt8] = []
    /// A frame with END_STREAM arrived.
    var ended = false
    var resetCode: UInt32?
    var closeCode: UInt32?
}

/// An nghttp2 client session driven by hand: requests are submitted, bytes move only through `output`/`input`.
final class H2TestClient {
    private var session: OpaquePointer?
    private var streams: [Int32: ClientStream] = [:]
    private(set) var goAways: [(errorCode: UInt32, lastStreamID: Int32)] = []

    /// `initialWindowSize` is advertised in the client's SETTINGS; without `autoWindowUpdate` the
    /// client only reopens windows through `consume`; `peerMaxConcurrentStreams` is what the client
    /// assumes of the server until its SETTINGS arrive (nghttp2's own assumption is 100).
    init(initialWindowSize: UInt32 = 65_535, autoWindowUpdate: Bool = true, peerMaxConcurrentStreams: UInt32? = nil) {
        var callbacks: OpaquePointer?
        nghttp2_session_callbacks_new(&callbacks)
        defer { nghttp2_session_callbacks_del(callbacks) }
        nghttp2_session_callbacks_set_on_header_callback(callbacks) { _, frame, name, nameLength, value, valueLength, _, userData in
            let f = frame!.pointee
            client(userData).stream(f.hd.stream_id).fields.append(
                Field(
                    String(decoding: UnsafeBufferPointer(start: name, count: nameLength), as: UTF8.self),
                    String(decoding: UnsafeBufferPointer(start: value, count: valueLength), as: UTF8.self)))
            return 0
        }
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks) { _, _, stream, data, length, userData in
            client(userData).stream(stream).body += UnsafeBufferPointer(start: data, count: length)
            return 0
        }
        nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks) { _, frame, userData in
            let f = frame!.pointee
            let c = client(userData)
            switch f.hd.type {
            case UInt8(NGHTTP2_HEADERS.rawValue), UInt8(NGHTTP2_DATA.rawValue):
                if f.hd.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0 { c.stream(f.hd.stream_id).ended = true }
            case UInt8(NGHTTP2_RST_STREAM.rawValue):
                c.stream(f.hd.stream_id).resetCode = f.rst_stream.error_code
            case UInt8(NGHTTP2_GOAWAY.rawValue):
                c.goAways.append((f.goaway.error_code, f.goaway.last_stream_id))
            default:
                break
            }
            return 0
        }
        nghttp2_session_callbacks_set_on_stream_close_callback(callbacks) { _, stream, errorCode, userData in
            client(userData).stream(stream).closeCode = errorCode
            return 0
        }
        var option: OpaquePointer?
        nghttp2_option_new(&option)
        defer { nghttp2_option_del(option) }
        nghttp2_option_set_no_auto_window_update(option, autoWindowUpdate ? 0 : 1)
        if let peerMaxConcurrentStreams { nghttp2_option_set_peer_max_concurrent_streams(option, peerMaxConcurrentStreams) }
        nghttp2_session_client_new2(&session, callbacks, Unmanaged.passUnretained(self).toOpaque(), option)
        var entries = [nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE.rawValue), value: initialWindowSize)]
        nghttp2_submit_settings(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), &entries, entries.count)
    }

    deinit { nghttp2_session_del(session) }

    func stream(_ id: Int32) -> ClientStream {
        if let s = streams[id] { return s }
        let s = ClientStream()
        streams[id] = s
        return s
    }

    /// Queues a request; with `body` (possibly followed by `trailers`) its DATA comes from a provider
    /// that hands out as much as flow control lets nghttp2 ask for.
    @discardableResult
    func submitRequest(_ fields: [Field], body: [UInt8]? = nil, trailers: [Field] = []) -> Int32 {
        var provider = nghttp2_data_provider(source: nghttp2_data_source(ptr: nil), read_callback: uploadRead)
        let id = withNameValues(fields) { nva, count in
            body == nil
                ? nghttp2_submit_request(session, nil, nva, count, nil, nil)
                : nghttp2_submit_request(session, nil, nva, count, &provider, nil)
        }
        #expect(id > 0, "submit_request: \(id)")
        let s = stream(id)
        s.upload = body ?? []
        s.trailers = trailers
        return id
    }

    /// Everything nghttp2 has to send now.
    func output() -> [UInt8] {
        var bytes: [UInt8] = []
        while true {
            var data: UnsafePointer<UInt8>?
            let n = nghttp2_session_mem_send(session, &data)
            #expect(n >= 0, "mem_send: \(n)")
            if n <= 0 { return bytes }
            bytes += UnsafeBufferPointer(start: data, count: n)
        }
    }

    /// Feeds server bytes; the client must accept every one of them (frames intact and legal).
    func input(_ bytes: [UInt8]) {
        let n = bytes.withUnsafeBufferPointer { nghttp2_session_mem_recv(session, $0.baseAddress, $0.count) }
        #expect(n == bytes.count, "client mem_recv: \(n)")
    }

    /// The client's application took `count` response-body bytes of `stream`.
    func consume(stream: Int32, _ count: Int) {
        #expect(nghttp2_session_consume(session, stream, count) == 0)
    }

    func remoteSetting(_ id: nghttp2_settings_id) -> UInt32 {
        nghttp2_session_get_remote_settings(session, id)
    }

    /// The connection-level window the server granted the client.
    var remoteWindowSize: Int32 { nghttp2_session_get_remote_window_size(session) }

    fileprivate func submitTrailers(_ stream: Int32, _ fields: [Field]) {
        let rv = withNameValues(fields) { nva, count in nghttp2_submit_trailer(session, stream, nva, count) }
        #expect(rv == 0, "submit_trailer: \(rv)")
    }
}

private func client(_ userData: UnsafeMutableRawPointer?) -> H2TestClient {
    Unmanaged<H2TestClient>.fromOpaque(userData!).takeUnretainedValue()
}

/// The client's request-body source: copies the next piece, ends the stream (or hands over to trailers) at the end.
private let uploadRead: nghttp2_data_source_read_callback = { _, stream, buffer, length, flags, _, userData in
    let c = client(userData)
    let s = c.stream(stream)
    let n = min(length, s.upload.count - s.uploaded)
    if n > 0 { s.upload.withUnsafeBufferPointer { buffer!.update(from: $0.baseAddress! + s.uploaded, count: n) } }
    s.uploaded += n
    if s.uploaded == s.upload.count {
        flags!.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue
        if !s.trailers.isEmpty {
            flags!.pointee |= NGHTTP2_DATA_FLAG_NO_END_STREAM.rawValue
            c.submitTrailers(stream, s.trailers)
        }
    }
    return n
}

// MARK: the server side

/// What the server's delegate was told, in order (request-body bytes are collected separately).
enum ServerEvent: Equatable {
    case began(Int32)
    case field(Int32, String, String, trailer: Bool)
    case headEnded(Int32, endStream: Bool)
    case requestEnded(Int32)
    case closed(Int32, UInt32)
}

/// A response body served piecewise: at most `chunk` bytes per read, and nothing past `released`
/// (the read answers `.deferred`) until the test releases more.
final class BodySource {
    let bytes: [UInt8]
    let chunk: Int
    var released: Int
    /// A read at this offset answers `.failed`.
    let failAt: Int?
    var offset = 0
    var reads = 0
    var deferrals = 0

    init(_ bytes: [UInt8], chunk: Int = .max, released: Int? = nil, failAt: Int? = nil) {
        self.bytes = bytes
        self.chunk = chunk
        self.released = released ?? bytes.count
        self.failAt = failAt
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) -> H2BodyRead {
        reads += 1
        if offset == failAt { return .failed }
        let n = min(buffer.count, chunk, released - offset)
        if n == 0 && offset < bytes.count {
            deferrals += 1
            return .deferred
        }
        if n > 0 { bytes.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + offset, byteCount: n) } }
        offset += n
        return .bytes(n, last: offset == bytes.count)
    }
}

final class ServerRecorder: H2SessionDelegate {
    var events: [ServerEvent] = []
    var received: [Int32: [UInt8]] = [:]
    var bodies: [Int32: BodySource] = [:]

    /// Streams whose request head arrived, in order.
    var begun: [Int32] {
        events.compactMap { if case .began(let id) = $0 { id } else { nil } }
    }

    func h2StreamBegan(_ stream: Int32) { events.append(.began(stream)) }

    func h2Field(_ stream: Int32, name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, trailer: Bool) -> Bool {
        events.append(.field(stream, String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self), trailer: trailer))
        return true
    }

    func h2HeadEnded(_ stream: Int32, endStream: Bool) { events.append(.headEnded(stream, endStream: endStream)) }
    func h2Data(_ stream: Int32, _ bytes: UnsafeRawBufferPointer) { received[stream, default: []] += bytes }
    func h2RequestEnded(_ stream: Int32) { events.append(.requestEnded(stream)) }
    func h2StreamClosed(_ stream: Int32, errorCode: UInt32) { events.append(.closed(stream, errorCode)) }
    func h2ResponseSent(_ stream: Int32) {}
    func h2StreamResetByClient(_ stream: Int32) {}

    func h2ReadBody(_ stream: Int32, into buffer: UnsafeMutableRawBufferPointer) -> H2BodyRead {
        guard let source = bodies[stream] else {
            Issue.record("body read for stream \(stream), which has no body source")
            return .failed
        }
        return source.read(into: buffer)
    }
}

/// A server session and a client session wired back to back.
final class H2Pair {
    let recorder = ServerRecorder()
    let server: H2Session
    let client: H2TestClient

    init(settings: H2Settings = H2Settings(), client: H2TestClient = H2TestClient(), memory: H2Memory? = nil) throws {
        server = try H2Session(delegate: recorder, settings: settings, memory: memory)
        self.client = client
    }

    /// Moves bytes both ways until neither side has anything to send; false (and a recorded issue)
    /// if they are still talking after `rounds` exchanges.
    /// The server's bytes reach the client one `send` call's worth at a time.
    @discardableResult
    func pump(rounds: Int = 50, serverBufferSize: Int = 16_384) throws -> Bool {
        for _ in 0..<rounds {
            let toServer = client.output()
            if !toServer.isEmpty { try toServer.withUnsafeBytes { try server.receive($0) } }
            let toClient = try drainServer(bufferSize: serverBufferSize) { client.input($0) }
            if toServer.isEmpty && toClient.isEmpty { return true }
        }
        Issue.record("the sessions were still exchanging frames after \(rounds) rounds")
        return false
    }

    /// All the server has to send, taken `bufferSize` bytes per `send` call; each piece goes to `piece` as it comes.
    func drainServer(bufferSize: Int = 16_384, maxCalls: Int = 100_000, piece: ([UInt8]) -> Void = { _ in }) throws -> [UInt8] {
        var all: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: bufferSize)
        for _ in 0..<maxCalls {
            let n = try buffer.withUnsafeMutableBytes { try server.send(into: $0) }
            if n == 0 { return all }
            #expect(n <= bufferSize)
            piece(Array(buffer[..<n]))
            all += buffer[..<n]
        }
        Issue.record("the server was still sending after \(maxCalls) calls")
        return all
    }

    /// Submits a response; with `body`, the recorder serves it to the session's body reads.
    func respond(_ stream: Int32, status: Int = 200, fields: [Field] = [], body: BodySource? = nil) throws {
        var bytes: [UInt8] = []
        for f in fields { bytes += Array(f.name.utf8) + Array(f.value.utf8) }
        recorder.bodies[stream] = body
        try bytes.withUnsafeBytes { storage in
            // The field bytes must stay put from addField until the submit has copied them.
            var offset = 0
            for f in fields {
                let name = UnsafeRawBufferPointer(rebasing: storage[offset..<offset + f.name.utf8.count])
                offset += f.name.utf8.count
                let value = UnsafeRawBufferPointer(rebasing: storage[offset..<offset + f.value.utf8.count])
                offset += f.value.utf8.count
                server.addField(name: name, value: value)
            }
            try server.submitResponse(stream: stream, status: status, hasBody: body != nil)
        }
    }
}

/// A GET for `path` with the usual pseudo-fields.
func get(_ path: String = "/") -> [Field] {
    [Field(":method", "GET"), Field(":scheme", "http"), Field(":authority", "example.com"), Field(":path", path)]
}

/// Deterministic, non-repeating-looking bytes, so a misplaced or dropped piece shows.
func pattern(_ count: Int, seed: UInt8 = 0) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8 &+ Int(seed)) }
}

/// One frame of raw HTTP/2 bytes.
struct RawFrame {
    let type: UInt8
    let stream: Int32
    let payload: ArraySlice<UInt8>
}

/// Splits server bytes into frames; nil if they do not end on a frame boundary.
func frames(_ bytes: [UInt8]) -> [RawFrame]? {
    var result: [RawFrame] = []
    var i = 0
    while i < bytes.count {
        guard bytes.count - i >= 9 else { return nil }
        let length = Int(bytes[i]) << 16 | Int(bytes[i + 1]) << 8 | Int(bytes[i + 2])
        let stream = Int32(bytes[i + 5] & 0x7F) << 24 | Int32(bytes[i + 6]) << 16 | Int32(bytes[i + 7]) << 8 | Int32(bytes[i + 8])
        guard bytes.count - i - 9 >= length else { return nil }
        result.append(RawFrame(type: bytes[i + 3], stream: stream, payload: bytes[i + 9..<i + 9 + length]))
        i += 9 + length
    }
    return result
}

func bigEndian32(_ bytes: ArraySlice<UInt8>, at offset: Int) -> UInt32 {
    let i = bytes.startIndex + offset
    return UInt32(bytes[i]) << 24 | UInt32(bytes[i + 1]) << 16 | UInt32(bytes[i + 2]) << 8 | UInt32(bytes[i + 3])
}
