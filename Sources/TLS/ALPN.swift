// ALPN: the server's protocol preference list and the selection callback OpenSSL calls during the handshake.
import COpenSSL
import Glibc

/// The server's protocols in preference order, e.g. ["h2", "http/1.1"].
struct ALPNPreference: Sendable {
    let protocols: [[UInt8]]

    init(_ names: [String]) throws(TLSError) {
        var list: [[UInt8]] = []
        for name in names {
            let bytes = Array(name.utf8)
            // The wire format prefixes each name with a one-byte length; empty names are forbidden.
            guard !bytes.isEmpty, bytes.count <= 255 else { throw TLSError("ALPN protocol name \"\(name)\" must be 1 to 255 bytes") }
            list.append(bytes)
        }
        protocols = list
    }

    /// The offset and length, inside the client's wire-format list, of the first server protocol
    /// the client also offers; nil when they share none (or the client's list is malformed).
    func select(fromClientList client: UnsafeBufferPointer<UInt8>) -> (offset: Int, length: Int)? {
        for wanted in protocols {
            var i = 0
            while i < client.count {
                let length = Int(client[i])
                let start = i + 1
                guard length > 0, start + length <= client.count else { return nil }
                if length == wanted.count,
                    wanted.withUnsafeBufferPointer({ memcmp($0.baseAddress!, client.baseAddress! + start, length) == 0 })
                {
                    return (start, length)
                }
                i = start + length
            }
        }
        return nil
    }
}

/// The C callback for `SSL_CTX_set_alpn_select_cb`: non-capturing, it finds its `TLSContext` through
/// `arg` (unretained: the context owns the SSL_CTXs, so it outlives every call).
///
/// Server preference wins (SSL_select_next_proto would do the same, but it points `out` into the
/// server list, which would then need a pointer-stable C copy; here `out` points into the client's
/// list, which OpenSSL copies before `in` goes away). No overlap → `SSL_TLSEXT_ERR_NOACK`: the
/// handshake proceeds without ALPN and the connection speaks HTTP/1.1, which every HTTPS client
/// accepts — friendlier than the fatal alert RFC 7301 permits.
let alpnSelectCallback:
    @convention(c) (
        OpaquePointer?, UnsafeMutablePointer<UnsafePointer<UInt8>?>?, UnsafeMutablePointer<UInt8>?,
        UnsafePointer<UInt8>?, UInt32, UnsafeMutableRawPointer?
    ) -> Int32 = { _, out, outLength, input, inputLength, arg in
        guard let out, let outLength, let input, let arg else { return SSL_TLSEXT_ERR_NOACK }
        let context = Unmanaged<TLSContext>.fromOpaque(arg).takeUnretainedValue()
        let client = UnsafeBufferPointer(start: input, count: Int(inputLength))
        guard let chosen = context.alpn.select(fromClientList: client) else { return SSL_TLSEXT_ERR_NOACK }
        out.pointee = input + chosen.offset
        outLength.pointee = UInt8(chosen.length)
        return SSL_TLSEXT_ERR_OK
    }
