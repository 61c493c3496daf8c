// An nghttp2 client session in memory, wired to an H2Session by copying bytes both ways: the peer the session tests drive.
import CNGHTTP2
import HTTP2

/// What the client saw, per stream.
final class ClientRecord {
    var status: [Int32: String] = [:]
    var body: [Int32: [UInt8]] = [:]
    var ended: Set<Int32> = []
    var resets: [Int32: UInt32] = [:]
    var goAwayCode: UInt32?
}

/// A client session with its callbacks recording into `record`; bytes move with `pump`.
final class MemoryClient {
    let record = ClientRecord()
    private(set) var session: OpaquePointer?

    init(initialWindow: UInt32? = nil) {
        var callbacks: OpaquePointer?
        nghttp2_session_callbacks_new(&callbacks)
        defer { nghttp2_session_callbacks_del(callbacks) }
        nghttp2_session_callbacks_set_on_header_callback(callbacks) { _, frame, name, nameLength, value, valueLength, _, user in
            let r = Unmanaged<ClientRecord>.fromOpaque(user!).takeUnretainedValue()
            if String(decoding: UnsafeBufferPointer(start: name, count: nameLength), as: UTF8.self) == ":status" {
                r.status[frame!.pointee.hd.stream_id] = String(decoding: UnsafeBufferPointer(start: value, count: valueLength), as: UTF8.self)
            }
            return 0
        }
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks) { _, _, stream, data, length, user in
            let r = Unmanaged<ClientRecord>.fromOpaque(user!).takeUnretainedValue()
            r.body[stream, default: []] += UnsafeBufferPointer(start: data, count: length)
            return 0
        }
        nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks) { _, frame, user in
            let r = Unmanaged<ClientRecord>.fromOpaque(user!).takeUnretainedValue()
            let f = frame!.pointee
            if f.hd.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0 { r.ended.insert(f.hd.stream_id) }
            if f.hd.type == UInt8(NGHTTP2_RST_STREAM.rawValue) { r.resets[f.hd.stream_id] = f.rst_stream.error_code }
            if f.hd.type == UInt8(NGHTTP2_GOAWAY.rawValue) { r.goAwayCode = f.goaway.error_code }
            return 0
        }
        nghttp2_session_client_new(&session, callbacks, Unmanaged.passUnretained(record).toOpaque())
        var entries = initialWindow.map { [nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE.rawValue), value: $0)] } ?? []
        nghttp2_submit_settings(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), &entries, entries.count)
    }

    deinit { nghttp2_session_del(session) }

    /// Opens a GET stream for `path`; returns its id.
    @discardableResult
    func get(_ path: String) -> Int32 {
        let fields: [(String, String)] = [(":method", "GET"), (":scheme", "http"), (":authority", "test"), (":path", path)]
        var storage = fields.map { (Array($0.0.utf8), Array($0.1.utf8)) }
        return storage.withUnsafeMutableBufferPointer { pairs in
            var nva = pairs.indices.map { i in
                pairs[i].0.withUnsafeMutableBufferPointer { n in
                    pairs[i].1.withUnsafeMutableBufferPointer { v in
                        nghttp2_nv(name: n.baseAddress, value: v.baseAddress, namelen: n.count, valuelen: v.count, flags: 0)
                    }
                }
            }
            return nghttp2_submit_request(session, nil, &nva, nva.count, nil, nil)
        }
    }

    /// Moves bytes both ways until neither side has anything to send (bounded), `chunk` bytes at most
    /// per server `send` call.
    func pump(_ server: H2Session, chunk: Int = 16 * 1024, rounds: Int = 10_000) throws {
        var out = [UInt8](repeating: 0, count: chunk)
        for _ in 0..<rounds {
            var moved = false
            // Client → server.
            var data: UnsafePointer<UInt8>?
            while true {
                let n = nghttp2_session_mem_send(session, &data)
                guard n > 0, let data else { break }
                try server.receive(UnsafeRawBufferPointer(start: data, count: n))
                moved = true
            }
            // Server → client.
            while true {
                let n = try out.withUnsafeMutableBytes { try server.send(into: $0) }
                guard n > 0 else { break }
                _ = out.withUnsafeBufferPointer { nghttp2_session_mem_recv(session, $0.baseAddress, n) }
                moved = true
            }
            if !moved { return }
        }
    }

    /// The server's SETTINGS value `id` as this client received it.
    func remoteSetting(_ id: nghttp2_settings_id) -> UInt32 { nghttp2_session_get_remote_settings(session, id) }
}
