// The server side of an HTTP/2 connection over libnghttp2: requests in as delegate events, responses submitted; no sockets.
import CNGHTTP2

/// The session's events, delivered while `receive` or `send` runs. Stream ids are the client's
/// (odd). Field bytes are only valid during the call.
public protocol H2SessionDelegate: AnyObject {
    /// A request's HEADERS frame began on a new stream.
    func h2StreamBegan(_ stream: Int32)
    /// One field of the request head (pseudo-fields first, as the protocol requires), or of a trailing
    /// HEADERS frame when `trailer`. False stops the header block there: the session resets the
    /// stream (INTERNAL_ERROR; a response submitted for it would be dropped) and skips the rest of
    /// the block unchecked. A block's size is the client's choice: HPACK lets a few bytes name the same
    /// large table entry over and over, and every field delivered costs a scan of its value.
    func h2Field(_ stream: Int32, name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, trailer: Bool) -> Bool
    /// The request head is complete; `endStream`: there is no body.
    func h2HeadEnded(_ stream: Int32, endStream: Bool)
    func h2Data(_ stream: Int32, _ bytes: UnsafeRawBufferPointer)
    /// The request body (and its trailers, if any) ended.
    func h2RequestEnded(_ stream: Int32)
    /// The stream is gone: answered, reset by either side, or torn down with the session.
    func h2StreamClosed(_ stream: Int32, errorCode: UInt32)
    /// The frame ending the response (END_STREAM) was sent.
    func h2ResponseSent(_ stream: Int32)
    /// The client reset a stream (RST_STREAM received).
    func h2StreamResetByClient(_ stream: Int32)
    /// Fills the next DATA frame of a response submitted with a body.
    func h2ReadBody(_ stream: Int32, into buffer: UnsafeMutableRawBufferPointer) -> H2BodyRead
}

/// The server side of one connection. Not thread-safe: owned by the loop that owns the connection.
/// Request bodies are not acknowledged automatically: the owner calls `consume` once it handed
/// bytes on, so the windows bound what is held for a slow upstream.
public final class H2Session: H2SessionCore {
    /// Strong and immutable, so the callbacks borrow it (an unowned read costs a retain per callback,
    /// ~10 per stream). The owner ends the cycle by dropping the session when the connection closes.
    let delegate: H2SessionDelegate
    /// Our SETTINGS_MAX_CONCURRENT_STREAMS, enforced here: a stream beyond it gets RST_STREAM
    /// REFUSED_STREAM and the connection lives on (nghttp2 itself would end the connection).
    let maxConcurrentStreams: UInt32
    /// Streams admitted and not yet closed.
    var openStreams: UInt32 = 0

    public init(delegate: H2SessionDelegate, settings: H2Settings, memory: H2Memory? = nil) throws(H2Error) {
        self.delegate = delegate
        maxConcurrentStreams = settings.maxConcurrentStreams
        super.init()
        try start(server: true, settings: settings, memory: memory, install: H2ServerCallbacks.install)
    }

    /// Adds SETTINGS_MAX_CONCURRENT_STREAMS to the server preface's SETTINGS frame, so clients learn
    /// the limit while nghttp2, not having submitted it, never enforces it as a connection error.
    override func rewriteFirstFrame(_ out: UnsafeMutableRawBufferPointer, length: Int) -> Int {
        let entry = 6
        guard length >= 9, out[3] == UInt8(NGHTTP2_SETTINGS.rawValue), out[4] == 0,
            out[5] | out[6] | out[7] | out[8] == 0
        else { return length }
        let payload = Int(out[0]) << 16 | Int(out[1]) << 8 | Int(out[2])
        let end = 9 + payload
        // Only when the whole frame is here and the entry fits; else the limit is enforced unadvertised.
        guard end <= length, length + entry <= out.count else { return length }
        if length > end { (out.baseAddress! + end + entry).copyMemory(from: out.baseAddress! + end, byteCount: length - end) }
        let id = UInt16(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS.rawValue)
        out[end] = UInt8(id >> 8)
        out[end + 1] = UInt8(id & 0xFF)
        for i in 0..<4 { out[end + 2 + i] = UInt8(truncatingIfNeeded: maxConcurrentStreams >> (24 - 8 * UInt32(i))) }
        let grown = payload + entry
        out[0] = UInt8(grown >> 16)
        out[1] = UInt8((grown >> 8) & 0xFF)
        out[2] = UInt8(grown & 0xFF)
        return length + entry
    }

    /// Sends a response head with the fields added since the last submit. With `hasBody`, DATA frames
    /// are pulled from the delegate's `h2ReadBody`; without, the head ends the stream.
    public func submitResponse(stream: Int32, status: Int, hasBody: Bool) throws(H2Error) {
        prependStatus(status)
        defer { fields.removeAll(keepingCapacity: true) }
        var provider = nghttp2_data_provider(source: nghttp2_data_source(ptr: nil), read_callback: H2ServerCallbacks.readBody)
        let rv = fields.withUnsafeBufferPointer { nva in
            hasBody
                ? nghttp2_submit_response(session, stream, nva.baseAddress, nva.count, &provider)
                : nghttp2_submit_response(session, stream, nva.baseAddress, nva.count, nil)
        }
        try check(rv, "submit response")
    }

    /// Ends the connection at once: GOAWAY with `code`, then nothing more is read or sent but that.
    public func terminate(_ code: H2ErrorCode) {
        _ = nghttp2_session_terminate_session(session, code.rawValue)
    }

    /// Graceful shutdown: GOAWAY(NO_ERROR) naming the last stream processed; streams up to it finish.
    public func goAway() {
        _ = nghttp2_submit_goaway(
            session, UInt8(NGHTTP2_FLAG_NONE.rawValue), nghttp2_session_get_last_proc_stream_id(session),
            H2ErrorCode.noError.rawValue, nil, 0)
    }
}

/// The C callbacks: non-capturing, they find the session through nghttp2's user data.
enum H2ServerCallbacks {
    static func install(_ callbacks: OpaquePointer?) {
        nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks) { session, frame, userData in
            let f = frame!.pointee
            guard f.hd.type == UInt8(NGHTTP2_HEADERS.rawValue) && f.headers.cat == NGHTTP2_HCAT_REQUEST else { return 0 }
            return withSession(userData, as: H2Session.self) { owner in
                guard owner.openStreams < owner.maxConcurrentStreams else {
                    // Refused before anything of it is processed; the header block is still decoded (HPACK state).
                    _ = nghttp2_submit_rst_stream(
                        session, UInt8(NGHTTP2_FLAG_NONE.rawValue), f.hd.stream_id, H2ErrorCode.refusedStream.rawValue)
                    return Int32(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue)
                }
                owner.openStreams += 1
                _ = nghttp2_session_set_stream_user_data(session, f.hd.stream_id, admittedMarker)
                owner.delegate.h2StreamBegan(f.hd.stream_id)
                return 0
            }
        }
        nghttp2_session_callbacks_set_on_header_callback(callbacks) { _, frame, name, nameLength, value, valueLength, _, userData in
            let f = frame!.pointee
            guard f.hd.type == UInt8(NGHTTP2_HEADERS.rawValue) else { return 0 }
            let trailer = f.headers.cat == NGHTTP2_HCAT_HEADERS
            guard trailer || f.headers.cat == NGHTTP2_HCAT_REQUEST else { return 0 }
            let more = withSession(userData, as: H2Session.self) {
                $0.delegate.h2Field(
                    f.hd.stream_id, name: UnsafeRawBufferPointer(start: name, count: nameLength),
                    value: UnsafeRawBufferPointer(start: value, count: valueLength), trailer: trailer)
            }
            return more ? 0 : Int32(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue)
        }
        nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks) { _, frame, userData in
            let f = frame!.pointee
            let endStream = f.hd.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0
            withSession(userData, as: H2Session.self) { owner in
                switch f.hd.type {
                case UInt8(NGHTTP2_HEADERS.rawValue):
                    if f.headers.cat == NGHTTP2_HCAT_REQUEST {
                        owner.delegate.h2HeadEnded(f.hd.stream_id, endStream: endStream)
                    } else if endStream {
                        owner.delegate.h2RequestEnded(f.hd.stream_id)
                    }
                case UInt8(NGHTTP2_DATA.rawValue):
                    if endStream { owner.delegate.h2RequestEnded(f.hd.stream_id) }
                case UInt8(NGHTTP2_RST_STREAM.rawValue):
                    owner.delegate.h2StreamResetByClient(f.hd.stream_id)
                default:
                    break
                }
            }
            return 0
        }
        nghttp2_session_callbacks_set_on_frame_send_callback(callbacks) { _, frame, userData in
            let f = frame!.pointee
            let ends = f.hd.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0
            if ends && (f.hd.type == UInt8(NGHTTP2_DATA.rawValue) || f.hd.type == UInt8(NGHTTP2_HEADERS.rawValue)) {
                withSession(userData, as: H2Session.self) { $0.delegate.h2ResponseSent(f.hd.stream_id) }
            }
            return 0
        }
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks) { _, _, stream, data, length, userData in
            withSession(userData, as: H2Session.self) { owner in
                owner.receivedData(length)
                owner.delegate.h2Data(stream, UnsafeRawBufferPointer(start: data, count: length))
            }
            return 0
        }
        nghttp2_session_callbacks_set_on_stream_close_callback(callbacks) { session, stream, errorCode, userData in
            guard nghttp2_session_get_stream_user_data(session, stream) == admittedMarker else { return 0 }
            withSession(userData, as: H2Session.self) { owner in
                owner.openStreams -= 1
                owner.delegate.h2StreamClosed(stream, errorCode: errorCode)
            }
            return 0
        }
    }

    static let readBody: nghttp2_data_source_read_callback = { _, stream, buffer, length, flags, _, userData in
        withSession(userData, as: H2Session.self) {
            $0.delegate.h2ReadBody(stream, into: UnsafeMutableRawBufferPointer(start: buffer, count: length)).frameResult(flags!)
        }
    }
}

/// Stream user data of admitted streams (its value is never dereferenced): a refused stream closes without one.
private var admittedMarker: UnsafeMutableRawPointer? { UnsafeMutableRawPointer(bitPattern: 1) }
