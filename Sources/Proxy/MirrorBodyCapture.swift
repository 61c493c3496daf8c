// A response body as the mirror comparison keeps it: its first bytes decoded, and the length and a hash of all of it.
import HTTP

/// Fed the body bytes as framed on the wire (chunked ones are decoded here, off the relay's own path);
/// keeps the first `limit` decoded bytes, and the length and an FNV-1a hash of every decoded byte, so
/// bodies longer than the limit are still compared whole (by hash). Its array is reused across requests.
struct MirrorBodyCapture {
    private(set) var prefix: [UInt8] = []
    private(set) var length: UInt64 = 0
    private(set) var hash: UInt64 = Self.fnvOffset
    private var limit = 0
    /// Set for a chunked body.
    private var dechunker: ChunkedScanner?
    /// The chunked framing was invalid: the body is not known.
    private(set) var malformed = false

    private static let fnvOffset: UInt64 = 0xcbf2_9ce4_8422_2325
    private static let fnvPrime: UInt64 = 0x100_0000_01b3

    /// A new body of `framing`, keeping at most `limit` bytes.
    mutating func begin(limit: Int, framing: BodyFraming) {
        prefix.removeAll(keepingCapacity: true)
        length = 0
        hash = Self.fnvOffset
        self.limit = limit
        malformed = false
        if case .chunked = framing { dechunker = ChunkedScanner() } else { dechunker = nil }
    }

    /// Every decoded byte was kept (the body is no longer than the limit).
    var isWhole: Bool { UInt64(prefix.count) == length }

    /// Body bytes as framed on the wire, in order.
    mutating func feed(_ raw: UnsafeRawBufferPointer) {
        guard !raw.isEmpty else { return }
        guard var scanner = dechunker else { return append(raw) }
        if case .error = scanner.decode(raw, payload: { append($0) }) { malformed = true }
        dechunker = scanner
    }

    private mutating func append(_ bytes: UnsafeRawBufferPointer) {
        var h = hash
        for b in bytes { h = (h ^ UInt64(b)) &* Self.fnvPrime }
        hash = h
        length &+= UInt64(bytes.count)
        let room = limit - prefix.count
        if room > 0 { prefix.append(contentsOf: bytes.prefix(room)) }
    }

    /// The same bytes (the same length and hash, and the same kept bytes).
    func sameBytes(as other: MirrorBodyCapture) -> Bool {
        !malformed && !other.malformed && length == other.length && hash == other.hash && prefix == other.prefix
    }
}
