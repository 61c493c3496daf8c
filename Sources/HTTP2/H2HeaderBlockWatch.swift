// Follows the frame headers of a client's bytes to tell whether a header block (HEADERS or PUSH_PROMISE and its CONTINUATIONs) is still arriving.

/// A header block holds the whole connection until it ends (no other frame may come in between,
/// RFC 9113 §6.10), and nghttp2 has no way to ask whether one is open: its callbacks miss the
/// CONTINUATIONs of a block it ignores (a refused stream's). So the owner passes every received
/// byte through here before the session, and bounds how long `isOpen` may stay true. A block is
/// open from its first frame header until the end of the frame with END_HEADERS: nghttp2 opens the
/// stream as that first frame's payload begins, so a frame whose bytes trickle holds it as well.
/// Only frame headers are read; payloads are skipped by their length. Protocol errors are the
/// session's to find: the connection ends with them.
public struct H2HeaderBlockWatch: Sendable {
    /// Bytes still to skip: the client preface first, then each frame's payload.
    private var skip = 24
    /// The frame header being assembled, for one split across reads.
    private var header: (UInt64, UInt8) = (0, 0)
    private var headerHave = 0
    /// The last header-block frame lacked END_HEADERS: more of the block must follow.
    private var awaitingContinuation = false
    /// `skip` is the rest of a header-block frame's payload.
    private var inHeaderFrame = false

    public var isOpen: Bool { awaitingContinuation || (inHeaderFrame && skip > 0) }

    public init() {}

    public mutating func scan(_ bytes: UnsafeRawBufferPointer) {
        var i = 0
        let n = bytes.count
        while i < n {
            if skip > 0 {
                let k = min(skip, n - i)
                skip -= k
                i += k
                continue
            }
            let k = min(9 - headerHave, n - i)
            withUnsafeMutableBytes(of: &header) { h in
                h.baseAddress!.advanced(by: headerHave).copyMemory(from: bytes.baseAddress!.advanced(by: i), byteCount: k)
            }
            headerHave += k
            i += k
            guard headerHave == 9 else { break }
            headerHave = 0
            withUnsafeBytes(of: header) { h in frameHeader(length: Int(h[0]) << 16 | Int(h[1]) << 8 | Int(h[2]), type: h[3], flags: h[4]) }
        }
    }

    private mutating func frameHeader(length: Int, type: UInt8, flags: UInt8) {
        skip = length
        let headers: UInt8 = 0x1, pushPromise: UInt8 = 0x5, continuation: UInt8 = 0x9, endHeaders: UInt8 = 0x4
        inHeaderFrame = type == headers || type == pushPromise || type == continuation
        if inHeaderFrame { awaitingContinuation = flags & endHeaders == 0 }
    }
}
