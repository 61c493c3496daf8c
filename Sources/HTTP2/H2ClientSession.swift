// The client side of an HTTP/2 connection to an upstream over libnghttp2: requests submitted, responses in as delegate events; no sockets.
import CNGHTTP2

/// Events of a client session, delivered while `receive` or `send` runs. Field bytes are only valid
/// during the call. Interim (1xx) heads, final heads and trailers all arrive as fields followed by
/// `h2ResponseHeadersEnded`; the delegate tells them apart by `:status` and by what it has seen.
public protocol H2ClientDelegate: AnyObject {
    func h2ResponseField(_ stream: Int32, name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)
    /// A HEADERS frame (and its CONTINUATIONs) ended; `endStream`: the response ended with it.
    func h2ResponseHeadersEnded(_ stream: Int32, endStream: Bool)
    func h2ResponseData(_ stream: Int32, _ bytes: UnsafeRawBufferPointer)
    /// The response ended with a DATA frame.
    func h2ResponseEnded(_ stream: Int32)
    /// The stream is gone: after the response, reset by either side, or torn down with the session.
    func h2StreamClosed(_ stream: Int32, errorCode: UInt32)
    /// Fills the next DATA frame of a request submitted with a body.
    func h2ReadRequestBody(_ stream: Int32, into buffer: UnsafeMutableRawBufferPointer) -> H2BodyRead
}

public final class H2ClientSession: H2SessionCore {
    unowned(unsafe) let delegate: H2ClientDelegate

    /// The client preface and SETTINGS are queued at once; `send` delivers them with the first request.
    public init(delegate: H2ClientDelegate, settings: H2Settings, memory: H2Memory? = nil) throws(H2Error) {
        self.delegate = delegate
        super.init()
        try start(server: false, settings: settings, memory: memory, install: H2ClientCallbacks.install)
    }

    /// Whether a new stream may be opened now: the server has not sent GOAWAY and its stream limit
    /// leaves room (counted by the caller against `peerMaxConcurrentStreams`).
    public var acceptsRequests: Bool { nghttp2_session_check_request_allowed(session) != 0 }

    /// The server's SETTINGS_MAX_CONCURRENT_STREAMS (unbounded until its SETTINGS arrive).
    public var peerMaxConcurrentStreams: UInt32 {
        nghttp2_session_get_remote_settings(session, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS)
    }

    /// Opens a stream with the fields added since the last submit (pseudo-fields first). With
    /// `hasBody`, DATA is pulled from the delegate's `h2ReadRequestBody`. Returns the stream id.
    public func submitRequest(hasBody: Bool) throws(H2Error) -> Int32 {
        defer { fields.removeAll(keepingCapacity: true) }
        var provider = nghttp2_data_provider(source: nghttp2_data_source(ptr: nil), read_callback: H2ClientCallbacks.readBody)
        let id = fields.withUnsafeBufferPointer { nva in
            hasBody
                ? nghttp2_submit_request(session, nil, nva.baseAddress, nva.count, &provider, nil)
                : nghttp2_submit_request(session, nil, nva.baseAddress, nva.count, nil, nil)
        }
        if id < 0 { throw H2Error(code: Int(id), operation: "submit request") }
        return id
    }
}

/// The C callbacks: non-capturing, they find the session through nghttp2's user data.
enum H2ClientCallbacks {
    static func install(_ callbacks: OpaquePointer?) {
        nghttp2_session_callbacks_set_on_header_callback(callbacks) { _, frame, name, nameLength, value, valueLength, _, userData in
            let f = frame!.pointee
            guard f.hd.type == UInt8(NGHTTP2_HEADERS.rawValue) else { return 0 }
            withSession(userData, as: H2ClientSession.self) {
                $0.delegate.h2ResponseField(
                    f.hd.stream_id, name: UnsafeRawBufferPointer(start: name, count: nameLength),
                    value: UnsafeRawBufferPointer(start: value, count: valueLength))
            }
            return 0
        }
        nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks) { _, frame, userData in
            let f = frame!.pointee
            let endStream = f.hd.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0
            withSession(userData, as: H2ClientSession.self) { owner in
                switch f.hd.type {
                case UInt8(NGHTTP2_HEADERS.rawValue):
                    owner.delegate.h2ResponseHeadersEnded(f.hd.stream_id, endStream: endStream)
                case UInt8(NGHTTP2_DATA.rawValue):
                    if endStream { owner.delegate.h2ResponseEnded(f.hd.stream_id) }
                default:
                    break
                }
            }
            return 0
        }
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks) { _, _, stream, data, length, userData in
            withSession(userData, as: H2ClientSession.self) { owner in
                owner.receivedData(length)
                owner.delegate.h2ResponseData(stream, UnsafeRawBufferPointer(start: data, count: length))
            }
            return 0
        }
        nghttp2_session_callbacks_set_on_stream_close_callback(callbacks) { _, stream, errorCode, userData in
            withSession(userData, as: H2ClientSession.self) { $0.delegate.h2StreamClosed(stream, errorCode: errorCode) }
            return 0
        }
    }

    static let readBody: nghttp2_data_source_read_callback = { _, stream, buffer, length, flags, _, userData in
        withSession(userData, as: H2ClientSession.self) {
            $0.delegate.h2ReadRequestBody(stream, into: UnsafeMutableRawBufferPointer(start: buffer, count: length)).frameResult(flags!)
        }
    }
}
