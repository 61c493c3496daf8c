// What the server and client HTTP/2 sessions share: the nghttp2 handle, bytes in and out, field lists, stream flow control.
import CNGHTTP2

/// One nghttp2 session. Not thread-safe: owned by the loop that owns the connection. Received DATA
/// is not acknowledged automatically: the owner calls `consume` once it handed bytes on, so the
/// windows bound what is held for a slow peer on the other side of the proxy.
public class H2SessionCore {
    var session: OpaquePointer?
    /// Where `send` copies frames to, for the duration of one `send` call.
    private var sink = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    private var sunk = 0
    /// Fields of the head being submitted; its capacity is reused.
    var fields: [nghttp2_nv] = []
    /// The allocator nghttp2 uses for this session (nil: malloc); held so it outlives the session.
    private var memory: H2Memory?
    /// ":status" and three digits, pointed at by a response's first field.
    private let statusName: UnsafeMutablePointer<UInt8>
    private let statusDigits: UnsafeMutablePointer<UInt8>

    init() {
        statusName = .allocate(capacity: 7)
        statusName.initialize(from: Array(":status".utf8), count: 7)
        statusDigits = .allocate(capacity: 3)
        statusDigits.initialize(repeating: UInt8(ascii: "0"), count: 3)
        fields.reserveCapacity(32)
    }

    deinit {
        nghttp2_session_del(session)
        statusName.deallocate()
        statusDigits.deallocate()
    }

    /// Creates the session with `install`'s callbacks (plus the shared send callback) and queues our SETTINGS.
    func start(server: Bool, settings: H2Settings, memory: H2Memory?, install: (OpaquePointer?) -> Void) throws(H2Error) {
        var callbacks: OpaquePointer?
        try check(nghttp2_session_callbacks_new(&callbacks), "nghttp2_session_callbacks_new")
        defer { nghttp2_session_callbacks_del(callbacks) }
        nghttp2_session_callbacks_set_send_callback(callbacks) { _, data, length, _, userData in
            withSession(userData, as: H2SessionCore.self) { $0.accept(data!, length) }
        }
        install(callbacks)
        var option: OpaquePointer?
        try check(nghttp2_option_new(&option), "nghttp2_option_new")
        defer { nghttp2_option_del(option) }
        nghttp2_option_set_no_auto_window_update(option, 1)
        // nghttp2 keeps closed streams for the RFC 7540 priority tree, as many as the local
        // SETTINGS_MAX_CONCURRENT_STREAMS — which a server here never submits (H2Session enforces
        // its own limit), so the count was unbounded: a long-lived connection grew by ~300 bytes
        // per stream (measured: 14 MB/s of RSS under h2load -c1). Priorities are not used.
        nghttp2_option_set_no_closed_streams(option, 1)
        var created: OpaquePointer?
        let me = Unmanaged.passUnretained(self).toOpaque()
        self.memory = memory
        var table = memory?.table ?? nghttp2_mem()
        let rc = withUnsafeMutablePointer(to: &table) { table -> Int32 in
            let mem = memory == nil ? nil : table  // nil: nghttp2's default (malloc); it copies the table
            return server
                ? nghttp2_session_server_new3(&created, callbacks, me, option, mem)
                : nghttp2_session_client_new3(&created, callbacks, me, option, mem)
        }
        try check(rc, "nghttp2_session_new")
        session = created
        var entries = [
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE.rawValue), value: settings.initialWindowSize),
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE.rawValue), value: settings.maxHeaderListSize),
        ]
        // A server accepts RFC 8441's extended CONNECT (`:protocol`): WebSockets over HTTP/2.
        if server {
            entries.append(nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL.rawValue), value: 1))
        }
        // A server enforces its stream limit itself (H2Session): nghttp2 would make the stream over
        // the limit a connection error, killing the others; RFC 9113 §5.1.2 wants a stream error.
        if !server {
            entries.append(
                nghttp2_settings_entry(
                    settings_id: Int32(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS.rawValue),
                    value: settings.maxConcurrentStreams))
        }
        try check(nghttp2_submit_settings(created, UInt8(NGHTTP2_FLAG_NONE.rawValue), &entries, entries.count), "nghttp2_submit_settings")
        try check(
            nghttp2_session_set_local_window_size(created, UInt8(NGHTTP2_FLAG_NONE.rawValue), 0, settings.connectionWindowSize),
            "nghttp2_session_set_local_window_size")
    }

    // MARK: bytes in and out

    /// Processes the peer's bytes. Throws on what nghttp2 treats as fatal (a client that does not
    /// open with the HTTP/2 preface). Other protocol errors are answered by nghttp2 itself: it
    /// queues a GOAWAY, which `send` delivers, and `isActive` is false from then on.
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
        if sunk > 0 && !sentFirstBytes {
            sentFirstBytes = true
            sunk = rewriteFirstFrame(UnsafeMutableRawBufferPointer(rebasing: out[0...]), length: sunk)
        }
        return sunk
    }

    private var sentFirstBytes = false

    /// A chance to amend the session's first frame (a server's SETTINGS) in place; returns the new length.
    func rewriteFirstFrame(_ out: UnsafeMutableRawBufferPointer, length: Int) -> Int { length }

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

    // MARK: heads and streams

    /// Adds a field for the next submitted head. Names must be lower-case; the bytes need only stay
    /// valid until the submit, which copies them.
    public func addField(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        fields.append(
            nghttp2_nv(
                name: UnsafeMutablePointer(mutating: name.baseAddress?.assumingMemoryBound(to: UInt8.self)),
                value: UnsafeMutablePointer(mutating: value.baseAddress?.assumingMemoryBound(to: UInt8.self)),
                namelen: name.count, valuelen: value.count, flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue)))
    }

    /// Sends trailing fields (added since the last submit) after the stream's DATA (a response's, or a
    /// request's); call it when the body source returned its last bytes with `.bytes(n, last: true, trailers: true)`.
    public func submitTrailers(stream: Int32) throws(H2Error) {
        defer { fields.removeAll(keepingCapacity: true) }
        let rv = fields.withUnsafeBufferPointer { nva in nghttp2_submit_trailer(session, stream, nva.baseAddress, nva.count) }
        try check(rv, "submit trailers")
    }

    /// Forgets fields added for a head that will not be submitted.
    public func discardFields() {
        fields.removeAll(keepingCapacity: true)
    }

    /// Puts ":status" first in the fields of a response head.
    func prependStatus(_ status: Int) {
        statusDigits[0] = UInt8(48 + status / 100 % 10)
        statusDigits[1] = UInt8(48 + status / 10 % 10)
        statusDigits[2] = UInt8(48 + status % 10)
        fields.insert(
            nghttp2_nv(
                name: statusName, value: statusDigits, namelen: 7, valuelen: 3,
                flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue)), at: 0)
    }

    /// The stream's body source has more: ask it again.
    public func resume(stream: Int32) {
        _ = nghttp2_session_resume_data(session, stream)
    }

    /// `count` received DATA bytes of `stream` were handed on: the peer may send that many more on it.
    /// (The connection window is acknowledged on receipt, see `receivedData`: a stream that ends with
    /// bytes still held must not shrink the connection's window for good.)
    public func consume(stream: Int32, _ count: Int) {
        guard count > 0 else { return }
        _ = nghttp2_session_consume_stream(session, stream, count)
    }

    /// DATA bytes arrived (any stream): acknowledged at once for the connection, so only the stream
    /// windows bound what is held, stream by stream.
    func receivedData(_ count: Int) {
        guard count > 0 else { return }
        _ = nghttp2_session_consume_connection(session, count)
    }

    /// Ends one stream with RST_STREAM (e.g. REFUSED_STREAM, INTERNAL_ERROR), leaving the others.
    public func reset(stream: Int32, code: H2ErrorCode) {
        _ = nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), stream, code.rawValue)
    }
}

/// The session behind nghttp2's user data, borrowed for a callback: no retain and no release (a
/// session outlives its callbacks; retaining it cost a pair per callback, several per stream).
@inline(__always)
func withSession<Session: H2SessionCore, R>(_ userData: UnsafeMutableRawPointer?, as _: Session.Type, _ body: (Session) -> R) -> R {
    Unmanaged<Session>.fromOpaque(userData!)._withUnsafeGuaranteedRef(body)
}
