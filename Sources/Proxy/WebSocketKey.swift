// The WebSocket handshake's keys for an extended CONNECT the proxy turns into an HTTP/1.1 upgrade: a fresh key, the accept it expects.
import COpenSSL

/// RFC 8441 carries no Sec-WebSocket-Key over HTTP/2, but an HTTP/1.1 upstream needs one (RFC 6455
/// §4.1): the proxy makes a random one and checks the upstream's Sec-WebSocket-Accept against it, as a
/// client would. 24 bytes of base64, held inline (no allocation per stream).
struct WebSocketKey: Equatable {
    /// The key's base64 text, 24 bytes in three words.
    private(set) var text: (UInt64, UInt64, UInt64) = (0, 0, 0)

    static func == (a: WebSocketKey, b: WebSocketKey) -> Bool { a.text == b.text }

    /// No key yet (a relay's storage before its first WebSocket).
    init() {}

    /// A key of 16 random bytes (RFC 6455 §4.1: a nonce, "randomly selected").
    static func random() -> WebSocketKey {
        var generator = SystemRandomNumberGenerator()
        return WebSocketKey(nonce: (generator.next(), generator.next()))
    }

    init(nonce: (UInt64, UInt64)) {
        var nonce = nonce
        withUnsafeBytes(of: &nonce) { raw in
            withUnsafeMutableBytes(of: &text) { _ = Base64.encode(raw, into: $0) }
        }
    }

    func withBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        var copy = text
        return withUnsafeBytes(of: &copy) { body($0) }
    }

    /// Whether `accept` is base64(SHA-1(key + the RFC 6455 GUID)), the upstream's proof it read the key.
    func isAccepted(by accept: UnsafeRawBufferPointer) -> Bool {
        var expected: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        let n = withUnsafeMutableBytes(of: &expected) { Self.accept(forKey: self, into: $0) }
        return withUnsafeBytes(of: &expected) { accept.elementsEqual($0.prefix(n)) }
    }

    /// Writes the 28-byte Sec-WebSocket-Accept for `key` into `out` (at least 28 bytes); returns 28.
    static func accept(forKey key: WebSocketKey, into out: UnsafeMutableRawBufferPointer) -> Int {
        var input: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
        var digest: (UInt64, UInt64, UInt64) = (0, 0, 0)
        return withUnsafeMutableBytes(of: &input) { message in
            let keyCount = key.withBytes { bytes in
                message.copyMemory(from: bytes)
                return bytes.count
            }
            let guid = UnsafeRawBufferPointer(start: webSocketGUID.utf8Start, count: webSocketGUID.utf8CodeUnitCount)
            UnsafeMutableRawBufferPointer(rebasing: message[keyCount...]).copyMemory(from: guid)
            return withUnsafeMutableBytes(of: &digest) { hash in
                _ = SHA1(
                    message.baseAddress!.assumingMemoryBound(to: UInt8.self), keyCount + guid.count,
                    hash.baseAddress!.assumingMemoryBound(to: UInt8.self))
                return Base64.encode(UnsafeRawBufferPointer(rebasing: hash[0..<20]), into: out)
            }
        }
    }
}

/// The GUID RFC 6455 §1.3 appends to a Sec-WebSocket-Key before hashing it.
private let webSocketGUID: StaticString = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/// Standard base64 with padding (RFC 4648 §4), for the short values of the WebSocket handshake.
enum Base64 {
    private static let alphabet: StaticString = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

    /// Encodes `bytes` into `out` (at least `(bytes.count + 2) / 3 * 4` long); returns the count written.
    static func encode(_ bytes: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) -> Int {
        let table = alphabet.utf8Start
        var o = 0
        var i = 0
        while i < bytes.count {
            let remaining = bytes.count - i
            let b1: UInt32 = remaining > 1 ? UInt32(bytes[i + 1]) : 0
            let b2: UInt32 = remaining > 2 ? UInt32(bytes[i + 2]) : 0
            let triple = UInt32(bytes[i]) << 16 | b1 << 8 | b2
            out[o] = table[Int(triple >> 18 & 63)]
            out[o + 1] = table[Int(triple >> 12 & 63)]
            out[o + 2] = remaining > 1 ? table[Int(triple >> 6 & 63)] : UInt8(ascii: "=")
            out[o + 3] = remaining > 2 ? table[Int(triple & 63)] : UInt8(ascii: "=")
            o += 4
            i += 3
        }
        return o
    }
}
