// The request side of an HTTP/2 stream, common to every role: its head from decoded fields, its body queue, its flow-control debt.
import EventLoop
import HTTP

/// Lives as long as the stream (whatever answers it); `restart` empties it for the next stream, keeping
/// its arrays' capacity. Socket-free: the stream hands it bytes and acts on what it returns.
struct H2Request {
    var fields: FieldRequest
    /// The HTTP/1.1 parser's checks, applied to the decoded fields.
    var rules = DecodedRequestRules()
    /// Field bytes while the head arrives; given back once the upstream head is written (or, for an
    /// HTTP/2 upstream, once a resend can no longer happen).
    var scratch: ByteBuffer?
    /// Body for the upstream, already framed (chunked when the client declared no length and the
    /// upstream speaks HTTP/1.1), in order.
    var body = BufferQueue()
    /// Everything else about the request, plain values: `restart` resets them in one assignment.
    var progress = Progress()

    struct Progress {
        /// The first field the rules refused: the stream is answered with it once the head ends.
        var headProblem: HTTPParseError?
        /// RFC 9113 §6.5.2's measure of the trailing fields, bounded like the head's.
        fileprivate var trailerListSize = 0
        /// The measure and count of the head's fields past its limits (see `addField`).
        fileprivate var excessListSize = 0
        fileprivate var excessCount = 0
        /// DATA bytes received and not yet acknowledged to the client (the flow-control window they hold).
        fileprivate(set) var unacknowledged = 0
        /// Bytes to acknowledge once the session returns (callbacks do not call back into it).
        var acknowledgeLater = 0
        var chunkedBody = false
        /// The trace the proxy starts for the request, decided when it is routed (see TraceContext).
        var startTrace: TraceIDs?
        /// END_STREAM from the client.
        var ended = false
        /// Everything, head and body, was written to the upstream.
        var complete = false
        /// The request is answered without the upstream seeing (the rest of) its body: DATA is acknowledged and dropped.
        fileprivate(set) var discardingBody = false
        /// Field and DATA bytes received, for the arm's counters and the body's progress windows.
        fileprivate(set) var bytesFromClient: UInt64 = 0
    }

    init(maxListSize: Int, maxCount: Int) {
        fields = FieldRequest(maxListSize: maxListSize, maxCount: maxCount)
    }

    /// Empty, for a new stream under the current limits, with `scratch` for its field bytes. The field
    /// lists and the body queue keep their capacity (moving them out and back would copy the whole
    /// struct: ~400 instructions per stream, measured).
    mutating func restart(maxListSize: Int, maxCount: Int, scratch: ByteBuffer) {
        fields.reset(maxListSize: maxListSize, maxCount: maxCount)
        rules.reset()
        self.scratch = scratch
        progress = Progress()
    }

    // The calls on `fields` that the stream makes go through `mutating` methods: with the exclusive
    // access the call reads `fields` in place, where reading it out of the stream object's stored
    // property copies it first (its three arrays retained and released; measured twice per stream).

    /// `fields.withView`: the request as the router sees it.
    mutating func withView<Result>(source: UnsafeRawBufferPointer, _ body: (RequestView) -> Result) -> Result {
        fields.withView(source: source, body)
    }

    /// Whether the proxy starts a trace for the request (`TraceContext.startsTrace`); the stream then
    /// sets `progress.startTrace`.
    mutating func startsTrace(starting: Bool, source: UnsafeRawBufferPointer) -> Bool {
        TraceContext.startsTrace(starting: starting, received: fields.receivedTraceParent, in: source)
    }

    /// `fields.writeHTTP1`: the head as an HTTP/1.1 request, with this request's body framing.
    mutating func writeHTTP1(
        source: UnsafeRawBufferPointer, clientAddress: UnsafeRawBufferPointer, proto: StaticString,
        into out: UnsafeMutableRawBufferPointer
    ) -> Int? {
        fields.writeHTTP1(
            source: source, clientAddress: clientAddress, proto: proto, chunkedBody: progress.chunkedBody,
            startTrace: progress.startTrace, into: out)
    }

    /// One field of the head: checked, then collected. A head over the limits is still decoded to
    /// its end while the excess stays within three times the limits, so that an ordinary oversized
    /// head gets its 431 (the session could not send it after stopping the block: the stream's reset
    /// goes first). Beyond that, e.g. an HPACK bomb, false: the stream is reset and the rest of the
    /// block is not checked for nothing.
    mutating func addField(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, maxListSize: Int, maxCount: Int) -> Bool {
        guard let scratch else { return true }
        progress.bytesFromClient &+= UInt64(name.count + value.count + 4)
        if progress.headProblem == nil && fields.problem == nil {
            do { try rules.check(name: name, value: value) } catch { progress.headProblem = error }
        }
        fields.add(name: name, value: value, scratch: UnsafeMutableRawBufferPointer(start: scratch.base, count: scratch.capacity))
        guard fields.problem == .tooLarge else { return true }
        progress.excessListSize += name.count + value.count + 32
        progress.excessCount += 1
        return progress.excessListSize <= 3 * maxListSize && progress.excessCount <= 3 * maxCount
    }

    /// One trailing field: dropped (trailers have no place in the HTTP/1.1 request sent upstream,
    /// whose body framing is ours), but measured, so a trailer block cannot be an endless one either.
    mutating func addTrailerField(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, maxListSize: Int) -> Bool {
        progress.trailerListSize += name.count + value.count + 32
        return progress.trailerListSize <= maxListSize
    }

    /// Request DATA: queued for the upstream (with chunk framing when needed); true when queued, false
    /// when dropped (the bytes are then owed to the client's window in `acknowledgeLater`).
    mutating func receive(_ bytes: UnsafeRawBufferPointer, pool: BufferPool) -> Bool {
        if progress.discardingBody {
            progress.acknowledgeLater += bytes.count
            return false
        }
        progress.unacknowledged += bytes.count
        progress.bytesFromClient &+= UInt64(bytes.count)
        if progress.chunkedBody {
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
        progress.ended = true
        guard progress.chunkedBody && !progress.discardingBody else { return }
        lastChunk.withUTF8Buffer { body.append(UnsafeRawBufferPointer($0), pool: pool) }
    }

    /// `n` body bytes went upstream: the DATA bytes among them free the client's window (chunk framing
    /// bytes are counted too: an early acknowledgement by a few bytes, never more than received).
    mutating func acknowledge(_ n: Int) -> Int {
        let acknowledged = min(n, progress.unacknowledged)
        progress.unacknowledged -= acknowledged
        return acknowledged
    }

    /// The request is answered without (the rest of) its body: what came is owed to the client's
    /// window and freed, what still comes is acknowledged and dropped, so the window never closes on it.
    mutating func dropBody(pool: BufferPool) {
        progress.discardingBody = true
        progress.acknowledgeLater += progress.unacknowledged
        progress.unacknowledged = 0
        body.release(pool: pool)
    }

    /// Everything queued was written and the client ended the body.
    var fullyQueuedOut: Bool { progress.ended && body.isEmpty }

    /// The request ended without a body (none declared, none sent): it can be sent again whole.
    var isBodiless: Bool { fullyQueuedOut && !progress.chunkedBody && !fields.hasContentLength }

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
