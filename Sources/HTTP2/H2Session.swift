// An HTTP/2 server session over libnghttp2: bytes in, delegate events out, frames drained into a caller's buffer; no sockets.
import CNGHTTP2

/// What a stream's body source gave the session for one DATA frame.
public enum H2BodyRead {
    /// `count` bytes were written into the frame; `last` ends the response (END_STREAM).
    case bytes(Int, last: Bool)
    /// Nothing to send yet: the session stops asking until `resume(stream:)`.
    case deferred
    /// The body cannot be completed (the upstream failed mid-body): the stream is reset.
    case failed
}

/// The session's events, delivered while `receive` or `send` runs. Stream ids are the client's
/// (odd). Field bytes are only valid during the call.
public protocol H2SessionDelegate: AnyObject {
    /// A request's HEADERS frame began on a new stream.
    func h2StreamBegan(_ stream: Int32)
    /// One field of the request head (pseudo-fields first, as the protocol requires), or of a trailing
    /// HEADERS frame when `trailer`.
    func h2Field(_ stream: Int32, name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, trailer: Bool)
    /// The request head is complete; `endStream`: there is no body.
    func h2HeadEnded(_ stream: Int32, endStream: Bool)
    func h2Data(_ stream: Int32, _ bytes: UnsafeRawBufferPointer)
    /// The request body (and its trailers, if any) ended.
    func h2RequestEnded(_ stream: Int32)
    /// The stream is gone: answered, reset by either side, or torn down with the session.
    func h2StreamClosed(_ stream: Int32, errorCode: UInt32)
    /// Fills the next DATA frame of a response submitted with a body.
    func h2ReadBody(_ stream: Int32, into buffer: UnsafeMutableRawBufferPointer) -> H2BodyRead
}

public struct H2Settings: Sendable {
    public var maxConcurrentStreams: UInt32
    /// Per stream: how many request-body bytes a client may send before the proxy hands them on.
    public var initialWindowSize: UInt32
    /// For the whole connection: bounds the request-body bytes held for all streams together.
    public var connectionWindowSize: Int32
    /// Advertised as SETTINGS_MAX_HEADER_LIST_SIZE (the proxy also enforces it per stream).
    public var maxHeaderListSize: UInt32

    public init(maxConcurrentStreams: UInt32 = 100, initialWindowSize: UInt32 = 65_535,
                connectionWindowSize: Int32 = 1 << 20, maxHeaderListSize: UInt32 = 16 * 1024) {
        self.maxConcurrentStreams = maxConcurrentStreams
        self.initialWindowSize = initialWindowSize
        self.connectionWindowSize = connectionWindowSize
        self.maxHeaderListSize = maxHeaderListSize
    }
}

public struct H2Error: Error, CustomStringConvertible, Sendable {
    public let code: Int
    public let operation: String
    public var description: String { "\(operation): \(String(cString: nghttp2_strerror(Int32(code))))" }
    /// The peer broke the protocol (a bad preface, a flow-control violation, a compression error…).
    public var isProtocolError: Bool { code != Int(NGHTTP2_ERR_NOMEM.rawValue) && code != Int(NGHTTP2_ERR_CALLBACK_FAILURE.rawValue) }
}

/// One connection's HTTP/2 state. Not thread-safe: owned by the loop that owns the connection.
/// Request bodies are not acknowledged automatically: the owner calls `consume` once it handed
/// bytes on, so the windows bound what is held for a slow upstream.
public final class H2Session {
    private var session: OpaquePointer?
    unowned(unsafe) let delegate: H2SessionDelegate
    /// Where `send` copies frames to, for the duration of one `send` call.
    private var sink = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    private var sunk = 0
    /// Field list of the response being submitted; its capacity is reused.
    private var fields: [nghttp2_nv] = []
    /// ":status" and its three digits, pointed at by `fields[0]`.
    private let statusName: UnsafeMutablePointer<UInt8>
    private let statusDigits: UnsafeMutablePointer<UInt8>

    public init(delegate: H2SessionDelegate, settings: H2Settings) throws(H2Error) {
        self.delegate = delegate
        statusName = .allocate(capacity: 7)
        statusName.initialize(from: Array(":status".utf8), count: 7)
        statusDigits = .allocate(capacity: 3)
        statusDigits.initialize(repeating: UInt8(ascii: "0"), count: 3)
        fields.reserveCapacity(32)

        var callbacks: OpaquePointer?
        try check(nghttp2_session_callbacks_new(&callbacks), "nghttp2_session_callbacks_new")
        defer { nghttp2_session_callbacks_del(callbacks) }
        H2Callbacks.install(callbacks)
        var option: OpaquePointer?
        try check(nghttp2_option_new(&option), "nghttp2_option_new")
        defer { nghttp2_option_del(option) }
        nghttp2_option_set_no_auto_window_update(option, 1)
        var created: OpaquePointer?
        try check(nghttp2_session_server_new2(&created, callbacks, Unmanaged.passUnretained(self).toOpaque(), option),
                  "nghttp2_session_server_new2")
        session = created
        var entries = [
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS.rawValue), value: settings.maxConcurrentStreams),
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE.rawValue), value: settings.initialWindowSize),
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE.rawValue), value: settings.maxHeaderListSize),
        ]
        try check(nghttp2_submit_settings(created, UInt8(NGHTTP2_FLAG_NONE.rawValue), &entries, entries.count), "nghttp2_submit_settings")
        try check(nghttp2_session_set_local_window_size(created, UInt8(NGHTTP2_FLAG_NONE.rawValue), 0, settings.connectionWindowSize),
                  "nghttp2_session_set_local_window_size")
    }

    deinit {
        nghttp2_session_del(session)
        statusName.deallocate()
        statusDigits.deallocate()
    }

    // MARK: bytes in and out

    /// Processes client bytes (all of them, or throws when the client broke the protocol; the
    /// session has then queued a GOAWAY that `send` still delivers).
    public func receive(_ bytes: UnsafeRawBufferPointer) throws(H2Error) {
        guard bytes.count > 0 else { return }
        let n = nghttp2_session_mem_recv(session, bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), bytes.count)
        if n < 0 { throw H2Error(code: n, operation: "receive") }
    }

    /// Serialises pending frames into `out`, as many bytes as fit; returns how many.
    public func send(into out: UnsafeMutableRawBufferPointer) throws(H2Error) -> Int {
        sink = out
        sunk = 0
        defer { sink = UnsafeMutableRawBufferPointer(start: nil, count: 0) }
        let rv = nghttp2_session_send(session)
        if rv != 0 { throw H2Error(code: Int(rv), operation: "send") }
        return sunk
    }

    /// Called by nghttp2 with frame bytes: takes what fits, and asks to be called again for the rest.
    fileprivate func accept(_ data: UnsafePointer<UInt8>, _ length: Int) -> Int {
        let room = sink.count - sunk
        guard room > 0 else { return Int(NGHTTP2_ERR_WOULDBLOCK.rawValue) }
        let n = min(room, length)
        (sink.baseAddress! + sunk).copyMemory(from: data, byteCount: n)
        sunk += n
        return n
    }

    /// False once both sides are done (GOAWAY exchanged and no stream left, or a fatal error).
    public var isActive: Bool { nghttp2_session_want_read(session) != 0 || nghttp2_session_want_write(session) != 0 }
    public var wantsWrite: Bool { nghttp2_session_want_write(session) != 0 }

    // MARK: streams

    /// Adds a response field for the next `submitResponse`. Names must be lower-case; the bytes are
    /// copied by the submit.
    public func addField(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        fields.append(nghttp2_nv(name: UnsafeMutablePointer(mutating: name.baseAddress?.assumingMemoryBound(to: UInt8.self)),
                                 value: UnsafeMutablePointer(mutating: value.baseAddress?.assumingMemoryBound(to: UInt8.self)),
                                 namelen: name.count, valuelen: value.count, flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue)))
    }

    /// Sends a response head with the fields added since the last submit. With `hasBody`, DATA frames
    /// are pulled from the delegate's `h2ReadBody`; without, the head ends the stream.
    public func submitResponse(stream: Int32, status: Int, hasBody: Bool) throws(H2Error) {
        statusDigits[0] = UInt8(48 + status / 100 % 10)
        statusDigits[1] = UInt8(48 + status / 10 % 10)
        statusDigits[2] = UInt8(48 + status % 10)
        fields.insert(nghttp2_nv(name: statusName, value: statusDigits, namelen: 7, valuelen: 3,
                                 flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue)), at: 0)
        defer { fields.removeAll(keepingCapacity: true) }
        var provider = nghttp2_data_provider(source: nghttp2_data_source(ptr: nil), read_callback: H2Callbacks.readBody)
        let rv = fields.withUnsafeBufferPointer { nva in
            hasBody ? nghttp2_submit_response(session, stream, nva.baseAddress, nva.count, &provider)
                : nghttp2_submit_response(session, stream, nva.baseAddress, nva.count, nil)
        }
        try check(rv, "submit response")
    }

    /// The stream's body source has more: ask it again.
    public func resume(stream: Int32) {
        _ = nghttp2_session_resume_data(session, stream)
    }

    /// `count` request-body bytes of `stream` were handed on: the client may send that many more.
    public func consume(stream: Int32, _ count: Int) {
        guard count > 0 else { return }
        _ = nghttp2_session_consume(session, stream, count)
    }

    /// Ends one stream with RST_STREAM (e.g. REFUSED_STREAM, INTERNAL_ERROR), leaving the others.
    public func reset(stream: Int32, code: H2ErrorCode) {
        _ = nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), stream, code.rawValue)
    }

    /// Graceful shutdown: GOAWAY(NO_ERROR) naming the last stream processed; streams up to it finish.
    public func goAway() {
        _ = nghttp2_submit_goaway(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), nghttp2_session_get_last_proc_stream_id(session),
                                  H2ErrorCode.noError.rawValue, nil, 0)
    }

    /// Remembers an object for the stream (nghttp2 stream user data), unretained.
    public func attach(_ pointer: UnsafeMutableRawPointer?, to stream: Int32) {
        _ = nghttp2_session_set_stream_user_data(session, stream, pointer)
    }

    public func attached(to stream: Int32) -> UnsafeMutableRawPointer? {
        nghttp2_session_get_stream_user_data(session, stream)
    }
}

/// RST_STREAM and GOAWAY codes (RFC 9113 §7) the proxy sends.
public enum H2ErrorCode: UInt32, Sendable {
    case noError = 0x0
    case protocolError = 0x1
    case internalError = 0x2
    case refusedStream = 0x7
    case cancel = 0x8
}

private func owner(_ userData: UnsafeMutableRawPointer?) -> H2Session {
    Unmanaged<H2Session>.fromOpaque(userData!).takeUnretainedValue()
}

private func check(_ rv: Int32, _ operation: String) throws(H2Error) {
    if rv != 0 { throw H2Error(code: Int(rv), operation: operation) }
}

/// The C callbacks: non-capturing, they find the session through nghttp2's user data.
enum H2Callbacks {

    static func install(_ callbacks: OpaquePointer?) {
        nghttp2_session_callbacks_set_send_callback(callbacks) { _, data, length, _, userData in
            owner(userData).accept(data!, length)
        }
        nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks) { _, frame, userData in
            let f = frame!.pointee
            if f.hd.type == UInt8(NGHTTP2_HEADERS.rawValue) && f.headers.cat == NGHTTP2_HCAT_REQUEST {
                owner(userData).delegate.h2StreamBegan(f.hd.stream_id)
            }
            return 0
        }
        nghttp2_session_callbacks_set_on_header_callback(callbacks) { _, frame, name, nameLength, value, valueLength, _, userData in
            let f = frame!.pointee
            guard f.hd.type == UInt8(NGHTTP2_HEADERS.rawValue) else { return 0 }
            let trailer = f.headers.cat == NGHTTP2_HCAT_HEADERS
            guard trailer || f.headers.cat == NGHTTP2_HCAT_REQUEST else { return 0 }
            owner(userData).delegate.h2Field(f.hd.stream_id, name: UnsafeRawBufferPointer(start: name, count: nameLength),
                                             value: UnsafeRawBufferPointer(start: value, count: valueLength), trailer: trailer)
            return 0
        }
        nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks) { _, frame, userData in
            let f = frame!.pointee
            let endStream = f.hd.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0
            let delegate = owner(userData).delegate
            switch f.hd.type {
            case UInt8(NGHTTP2_HEADERS.rawValue):
                if f.headers.cat == NGHTTP2_HCAT_REQUEST {
                    delegate.h2HeadEnded(f.hd.stream_id, endStream: endStream)
                } else if endStream {
                    delegate.h2RequestEnded(f.hd.stream_id)
                }
            case UInt8(NGHTTP2_DATA.rawValue):
                if endStream { delegate.h2RequestEnded(f.hd.stream_id) }
            default:
                break
            }
            return 0
        }
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks) { _, _, stream, data, length, userData in
            owner(userData).delegate.h2Data(stream, UnsafeRawBufferPointer(start: data, count: length))
            return 0
        }
        nghttp2_session_callbacks_set_on_stream_close_callback(callbacks) { _, stream, errorCode, userData in
            owner(userData).delegate.h2StreamClosed(stream, errorCode: errorCode)
            return 0
        }
    }

    static let readBody: nghttp2_data_source_read_callback = { _, stream, buffer, length, flags, _, userData in
        switch owner(userData).delegate.h2ReadBody(stream, into: UnsafeMutableRawBufferPointer(start: buffer, count: length)) {
        case .bytes(let n, let last):
            if last { flags!.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue }
            return n
        case .deferred:
            return Int(NGHTTP2_ERR_DEFERRED.rawValue)
        case .failed:
            return Int(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue)
        }
    }
}
