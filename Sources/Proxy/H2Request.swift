// The request side of an HTTP/2 stream, common to every role: its head from decoded fields, its body queue, its flow-control debt.
import EventLoop
import HTTP

/// Lives as long as the stream (whatever answers it); `restart` empties it for the next stream, keeping
/// its arrays' capacity. Socket-free: the stream hands it bytes and acts on what it returns.
struct H2Request {
    var fields: FieldRequest
    /// The HTTP/1.1 parser's checks, applied to the decoded fields.
    var rules = DecodedRequestRules()
    /// The first field the rules refused: the stream is answered with it once the head ends.
    var headProblem: HTTPParseError?
    /// RFC 9113 §6.5.2's measure of the trailing fields, bounded like the head's.
    private var trailerListSize = 0
    /// The measure and count of the head's fields past its limits (see `addField`).
    private var excessListSize = 0
    private var excessCount = 0
    /// Field bytes while the head arrives; given back once the upstream head is written (or, for an
    /// HTTP/2 upstream, once a resend can no longer happen).
    var scratch: ByteBuffer?
    /// Body for the upstream, already framed (chunked when the client declared no length and the
    /// upstream speaks HTTP/1.1), in order.
    var body = BufferQueue()
    /// DATA bytes received and not yet acknowledged to the client (the flow-control window they hold).
    var unacknowledged = 0
    /// Bytes to acknowledge once the session returns (callbacks do not call back into it).
    var acknowledgeLater = 0
    var chunkedBody = false
    /// END_STREAM from the client.
    var ended = false
    /// Everything, head and body, was written to the upstream.
    var complete = false
    /// The request is answered without the upstream seeing (the rest of) its body: DATA is acknowledged and dropped.
    private(set) var discardingBody = false
    /// Field and DATA bytes received, for the arm's counters and the body's progress windows.
    private(set) var bytesFromClient: UInt64 = 0

    init(maxListSize: Int, maxCount: Int) {
        fields = FieldRequest(maxListSize: maxListSize, maxCount: maxCount)
    }

    /// Empty, for a new stream under the current limits, with `scratch` for its field bytes. One
    /// assignment resets every field; the field lists and the body queue keep their capacity.
    mutating func restart(maxListSize: Int, maxCount: Int, scratch: ByteBuffer) {
        var fields = self.fields
        let body = self.body
        self = H2Request(maxListSize: 0, maxCount: 0)  // drops the old references: the kept ones are unique
        fields.reset(maxListSize: maxListSize, maxCount: maxCount)
        self.fields = fields
        self.body = body
        self.scratch = scratch
    }

    /// One field of the head: checked, then collected. A head over the limits is still decoded to
    /// its end while the excess stays within three times the limits, so that an ordinary oversized
    /// head gets its 431 (the session could not send it after stopping the block: the stream's reset
    /// goes first). Beyond that, e.g. an HPACK bomb, false: the stream is reset and the rest of the
    /// block is not checked for nothing.
    mutating func addField(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, maxListSize: Int, maxCount: Int) -> Bool {
        guard let scratch else { return true }
        bytesFromClient &+= UInt64(name.count + value.count + 4)
        if headProblem == nil && fields.problem == nil {
            do { try rules.check(name: name, value: value) } catch { headProblem = error }
        }
        fields.add(name: name, value: value, scratch: UnsafeMutableRawBufferPointer(start: scratch.base, count: scratch.capacity))
        guard fields.problem == .tooLarge else { return true }
        excessListSize += name.count + value.count + 32
        excessCount += 1
        return excessListSize <= 3 * maxListSize && excessCount <= 3 * maxCount
    }

    /// One trailing field: dropped (trailers have no place in the HTTP/1.1 request sent upstream,
    /// whose body framing is ours), but measured, so a trailer block cannot be an endless one either.
    mutating func addTrailerField(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, maxListSize: Int) -> Bool {
        trailerListSize += name.count + value.count + 32
        return trailerListSize <= maxListSize
    }

    /// Request DATA: queued for the upstream (with chunk framing when needed); true when queued, false
    /// when dropped (the bytes are then owed to the client's window in `acknowledgeLater`).
    mutating func receive(_ bytes: UnsafeRawBufferPointer, pool: BufferPool) -> Bool {
        if discardingBody {
            acknowledgeLater += bytes.count
            return false
        }
        unacknowledged += bytes.count
        bytesFromClient &+= UInt64(bytes.count)
        if chunkedBody {
            var size: (UInt64, UInt64) = (0, 0)
            let n = withUnsafeMutableBytes(of: &size) { writeChunkSize(bytes.count, into: $0) }
            withUnsafeBytes(of: &size) { body.append(UnsafeRawBufferPointer(rebasing: $0[0..<n]), pool: pool) }
            body.append(bytes, pool: pool)
            crlf.withUTF8Buffer { body.append(UnsafeRawBufferPointer($0), pool: pool) }
        } else {
            body.append(bytes, pool: pool)
        }
        return true
    }

    /// END_STREAM: the last chunk closes a chunked body.
    mutating func bodyEnded(pool: BufferPool) {
        ended = true
        if chunkedBody && !discardingBody { lastChunk.withUTF8Buffer { body.append(UnsafeRawBufferPointer($0), pool: pool) } }
    }

    /// `n` body bytes went upstream: the DATA bytes among them free the client's window (chunk framing
    /// bytes are counted too: an early acknowledgement by a few bytes, never more than received).
    mutating func acknowledge(_ n: Int) -> Int {
        let acknowledged = min(n, unacknowledged)
        unacknowledged -= acknowledged
        return acknowledged
    }

    /// The request is answered without (the rest of) its body: what came is owed to the client's
    /// window and freed, what still comes is acknowledged and dropped, so the window never closes on it.
    mutating func dropBody(pool: BufferPool) {
        discardingBody = true
        acknowledgeLater += unacknowledged
        unacknowledged = 0
        body.release(pool: pool)
    }

    /// Everything queued was written and the client ended the body.
    var fullyQueuedOut: Bool { ended && body.isEmpty }

    /// The stream ended: its buffers go back to `pool`.
    mutating func releaseBuffers(pool: BufferPool) {
        pool.give(from: &scratch)
        body.release(pool: pool)
    }
}

private let crlf: StaticString = "\r\n"
private let lastChunk: StaticString = "0\r\n\r\n"

/// "1a2b\r\n" for a chunk of `size` bytes; returns the length written.
private func writeChunkSize(_ size: Int, into out: UnsafeMutableRawBufferPointer) -> Int {
    var digits = 0
    var v = size
    repeat { digits += 1; v >>= 4 } while v != 0
    v = size
    for i in stride(from: digits - 1, through: 0, by: -1) {
        let nibble = UInt8(v & 15)
        out[i] = nibble < 10 ? 48 + nibble : 87 + nibble
        v >>= 4
    }
    out[digits] = 13
    out[digits + 1] = 10
    return digits + 2
}
