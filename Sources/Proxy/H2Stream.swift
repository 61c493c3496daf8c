// One HTTP/2 stream: its request head from decoded fields, its body queue, and how it ends; the upstream side is in H2Stream+Exchange.
import EventLoop
import HTTP
import HTTP2
import Telemetry

/// A stream is one request of its arm, relayed to an HTTP/1.1 upstream exactly like a request of an
/// HTTP/1.1 client. Objects are reused by the loop (`takeH2Stream`/`recycle`) with their arrays' capacity.
final class H2Stream: UpstreamOwner {
    /// Strong and immutable, so a read costs no retain (an unowned(unsafe) read costs one; measured
    /// ~10 per request over all classes). The loop's `shutdown` breaks the cycle through its spare streams.
    let proxy: ProxyLoop
    /// The stream's connection and its session; set by `begin` (stale while the object is spare).
    /// Unowned: rebound for each stream. Hot paths read them once into a local (each read is a retain).
    unowned(unsafe) var connection: H2Connection
    unowned(unsafe) var session: H2Session
    var id: Int32 = 0
    var isTouched = false
    /// The session closed the stream; nothing more happens to it.
    var finished = true
    /// The response went out completely (or the stream closed): counted by the connection once.
    var answered = false

    // Request.
    var fields: FieldRequest
    /// The HTTP/1.1 parser's checks, applied to the decoded fields.
    var rules = DecodedRequestRules()
    /// The first field the rules refused: the stream is answered with it once the head ends.
    var headProblem: HTTPParseError?
    /// RFC 9113 §6.5.2's measure of the trailing fields, bounded like the head's.
    var trailerListSize = 0
    /// The measure and count of the head's fields past its limits (see `addField`).
    var excessListSize = 0
    var excessCount = 0
    /// Field bytes while the head arrives; given back once the upstream head is written.
    var scratch: ByteBuffer?
    var snapshot: ProxySnapshot
    var headOut: ByteBuffer?
    var headOutLength = 0
    /// Request body for the upstream, already framed (chunked when the client declared no length), in order.
    var body = BufferQueue()
    /// DATA bytes received and not yet acknowledged to the client (the flow-control window they hold).
    var unacknowledged = 0
    /// Bytes to acknowledge once the session returns (callbacks do not call back into it).
    var acknowledgeLater = 0
    var chunkedBody = false
    /// END_STREAM from the client.
    var requestEnded = false
    /// Everything, head and body, was written to the upstream.
    var requestComplete = false
    /// The request is answered without the upstream seeing (the rest of) its body: DATA is acknowledged and dropped.
    var discardingBody = false
    var retried = false
    /// Retries of the HTTP/1.1 exchange within its arm (`FailedAttempt`).
    var attempts = AttemptLog()

    // Exchange and response.
    var upstream: UpstreamConnection?
    var shard: ArmShard?
    var requestStartedAt: UInt64 = 0
    /// The in-flight sweep counted this exchange slow (older than T); reset when an exchange begins.
    var slowMarked = false
    var bytesFromClient: UInt64 = 0
    var bytesToClient: UInt64 = 0
    var fromUpstream: ByteBuffer?
    var responseParser: ResponseHeadParser
    var response = ResponseHead()
    /// The response head was submitted to the session.
    var responseStarted = false
    var responseBody = BodyProgress.none
    var responsePending = 0
    /// The session asked for DATA and got `.deferred`: resume it when bytes arrive.
    var deferred = false
    /// A response of ours: its plain-text body and how much of it was sent.
    var ownBody: StaticString?
    var ownBodySent = 0

    // HTTP/2 upstream (an arm with `protocol: h2`): the stream is relayed as a stream.
    var h2Upstream: H2UpstreamConnection?
    var upstreamStreamID: Int32 = 0
    /// Response fields (head, then trailers) copied out of the upstream session's callbacks.
    var upstreamFieldBytes: ByteBuffer?
    var upstreamFields: [(name: ByteRange, value: ByteRange)] = []
    var upstreamStatus = 0
    var upstreamHeadDelivered = false
    /// The stored fields are trailers, sent after the last DATA.
    var upstreamTrailers = false
    var upstreamFinished = false
    /// Response DATA from the upstream, waiting for the client's window.
    var responseData = BufferQueue()
    /// The upstream session asked for request body and got `.deferred`.
    var requestDeferred = false
    /// The endpoint's pool, for a resend of a refused stream.
    var h2Pool: UpstreamPool?
    /// Request body bytes the upstream session took, kept until the response head for a resend.
    var replay: ByteBuffer?
    /// The body sent so far fits `replay`: a refused stream can be sent again.
    var replayable = true
    /// `content-type: application/grpc…`: `grpc-status` decides whether the response failed.
    var isGRPC = false
    var grpcStatus = -1
    /// The deadline of the request body's current progress window (see H2Stream+RequestBody).
    lazy var bodyWindow = H2RequestBodyWindow(stream: self)

    init(proxy: ProxyLoop, connection: H2Connection) {
        self.proxy = proxy
        self.connection = connection
        session = connection.session
        fields = FieldRequest(maxListSize: proxy.maxHeaderBytes, maxCount: proxy.maxHeaderCount)
        responseParser = ResponseHeadParser(maxHeaderBytes: proxy.maxHeaderBytes, maxHeaderCount: proxy.maxHeaderCount)
        snapshot = proxy.snapshot
    }

    override func upstreamReady() { upstreamEvent() }
    override func upstreamDeadlinePassed() { exchangeDeadlinePassed() }
    /// Only armed on the stream itself for an HTTP/2 upstream (an HTTP/1.1 one carries its own).
    override func handleDeadline() { h2UpstreamDeadlinePassed() }


    // MARK: events from the session

    func begin(id: Int32, connection: H2Connection) {
        self.connection = connection
        session = connection.session
        self.id = id
        finished = false
        answered = false
        isTouched = false
        fields.reset(maxListSize: proxy.maxHeaderBytes, maxCount: proxy.maxHeaderCount)
        rules.reset()
        headProblem = nil
        trailerListSize = 0
        excessListSize = 0
        excessCount = 0
        if responseParser.maxHeaderBytes != proxy.maxHeaderBytes || responseParser.maxHeaderCount != proxy.maxHeaderCount {
            // A reload changed the limits since this spare object was made.
            responseParser = ResponseHeadParser(maxHeaderBytes: proxy.maxHeaderBytes, maxHeaderCount: proxy.maxHeaderCount)
        }
        scratch = proxy.loop.buffers.take()
        headOutLength = 0
        unacknowledged = 0
        acknowledgeLater = 0
        chunkedBody = false
        requestEnded = false
        requestComplete = false
        discardingBody = false
        retried = false
        attempts = AttemptLog()
        bytesFromClient = 0
        bytesToClient = 0
        responseParser.reset()
        response.reset()
        responseStarted = false
        responseBody = .none
        responsePending = 0
        deferred = false
        ownBody = nil
        ownBodySent = 0
        upstreamStreamID = 0
        upstreamFields.removeAll(keepingCapacity: true)
        upstreamStatus = 0
        upstreamHeadDelivered = false
        upstreamTrailers = false
        upstreamFinished = false
        requestDeferred = false
        h2Pool = nil
        replayable = true
        isGRPC = false
        grpcStatus = -1
    }

    /// One field of the request head: checked, then collected. A head over the limits is still
    /// decoded to its end while the excess stays within three times the limits, so that an ordinary
    /// oversized head gets its 431 (the session could not send it after stopping the block: the
    /// stream's reset goes first). Beyond that, e.g. an HPACK bomb, false: the stream is reset and
    /// the rest of the block is not checked for nothing.
    func addField(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) -> Bool {
        guard let scratch else { return true }
        bytesFromClient &+= UInt64(name.count + value.count + 4)
        if headProblem == nil && fields.problem == nil {
            do { try rules.check(name: name, value: value) } catch { headProblem = error }
        }
        fields.add(name: name, value: value, scratch: UnsafeMutableRawBufferPointer(start: scratch.base, count: scratch.capacity))
        guard fields.problem == .tooLarge else { return true }
        excessListSize += name.count + value.count + 32
        excessCount += 1
        return excessListSize <= 3 * proxy.maxHeaderBytes && excessCount <= 3 * proxy.maxHeaderCount
    }

    /// One trailing field: dropped (trailers have no place in the HTTP/1.1 request sent upstream, whose
    /// body framing is ours), but measured, so a trailer block cannot be an endless one either.
    func addTrailerField(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) -> Bool {
        trailerListSize += name.count + value.count + 32
        return trailerListSize <= proxy.maxHeaderBytes
    }

    func headEnded(endStream: Bool) {
        requestEnded = endStream
        startExchange()
    }

    /// Request DATA: queued for the upstream (with chunk framing when needed), acknowledged once written there.
    func received(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        if discardingBody || finished {
            acknowledgeLater += bytes.count
            return
        }
        defer { if h2Upstream != nil { wakeUpstreamBody() } }
        unacknowledged += bytes.count
        bytesFromClient &+= UInt64(bytes.count)
        if chunkedBody {
            var size: (UInt64, UInt64) = (0, 0)
            let n = withUnsafeMutableBytes(of: &size) { writeChunkSize(bytes.count, into: $0) }
            withUnsafeBytes(of: &size) { enqueue(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            enqueue(bytes)
            crlf.withUTF8Buffer { enqueue(UnsafeRawBufferPointer($0)) }
        } else {
            enqueue(bytes)
        }
    }

    func requestBodyEnded() {
        requestEnded = true
        if chunkedBody && !discardingBody { lastChunk.withUTF8Buffer { enqueue(UnsafeRawBufferPointer($0)) } }
        if h2Upstream != nil { wakeUpstreamBody() }
    }

    private func enqueue(_ bytes: UnsafeRawBufferPointer) {
        body.append(bytes, pool: proxy.loop.buffers)
    }

    /// The session closed the stream: after our last frame, or reset by the client or by us.
    func closed(errorCode: UInt32) {
        finished = true
        h2Pool = nil
        cancelDeadline()
        bodyWindow.cancelDeadline()
        // Still recording means the response did not complete: the client went away or reset it.
        recordOutcome(status: nil, failure: nil)
        releaseExchange(reuseUpstream: false)
        releaseBuffers()
    }

    /// The connection is closing with this stream open.
    func connectionGone() {
        guard !finished else { return }
        closed(errorCode: H2ErrorCode.cancel.rawValue)
    }

    func releaseBuffers() {
        let pool = proxy.loop.buffers
        pool.give(from: &scratch)
        pool.give(from: &headOut)
        pool.give(from: &fromUpstream)
        pool.give(from: &upstreamFieldBytes)
        pool.give(from: &replay)
        body.release(pool: pool)
        responseData.release(pool: pool)
    }

    /// Gives the upstream connection back to its pool when the exchange ended cleanly, else closes it.
    func releaseExchange(reuseUpstream: Bool) {
        if let conn = h2Upstream {
            h2Upstream = nil
            cancelDeadline()
            conn.abandon(upstreamStreamID, cancel: !upstreamFinished)
        }
        guard let up = upstream else { return }
        upstream = nil
        proxy.release(up, reusable: reuseUpstream)
    }

    /// Records how the request ended, once (see ClientConnection.recordOutcome).
    func recordOutcome(status: Int?, failure: FailureKind?) {
        guard let shard else { return }
        self.shard = nil
        shard.recordOutcome(status: status, failure: failure, latencyNanoseconds: proxy.loop.now &- requestStartedAt,
                            bytesFromClient: bytesFromClient, bytesToClient: bytesToClient, slowMarked: slowMarked,
                            retriedFailure: attempts.hidFailure)
    }

    /// The in-flight sweep: counts the request in flight as slow once it is older than `threshold`
    /// nanoseconds (its arm's route's T), before it ends. Called every 100 ms by the loop, never per request.
    func markIfSlow(now: UInt64, threshold: (ArmShard) -> UInt64) {
        guard let shard else { return }
        shard.markIfSlow(startedAt: requestStartedAt, now: now, threshold: threshold(shard), marked: &slowMarked)
    }

    // MARK: answers of our own

    /// Answers with `failure` (counted against the arm when it is the arm's fault). After the response
    /// head went out, the stream is reset instead and the arm records a 502.
    func fail(_ failure: ProxyFailure) {
        if responseStarted {
            proxy.log.info("\(failure.status) \(failure.message) (HTTP/2 stream cut)")
            recordOutcome(status: 502, failure: failure.kind)
            releaseExchange(reuseUpstream: false)
            session.reset(stream: id, code: .internalError)
            proxy.markDirty(connection)
            return
        }
        if failure.kind != nil { proxy.log.info("\(failure.status) \(failure.message)") }
        recordOutcome(status: failure.status, failure: failure.kind)
        respond(status: failure.status, message: failure.message)
    }


    /// Submits a plain-text response of ours; the request body, if still coming, is dropped.
    func respond(status: Int, message: StaticString) {
        releaseExchange(reuseUpstream: false)
        if !requestEnded || !body.isEmpty { dropRequestBody() }
        ownBody = message
        ownBodySent = 0
        responseStarted = true
        let length = message.utf8CodeUnitCount + 1
        var digits: (UInt64, UInt64) = (0, 0)
        let n = withUnsafeMutableBytes(of: &digits) { writeDecimal(length, into: $0) }
        withUnsafeBytes(of: &digits) { lengthBytes in
            contentTypeName.withUTF8Buffer { name in
                textPlain.withUTF8Buffer { value in session.addField(name: UnsafeRawBufferPointer(name), value: UnsafeRawBufferPointer(value)) }
            }
            contentLengthName.withUTF8Buffer { name in
                session.addField(name: UnsafeRawBufferPointer(name), value: UnsafeRawBufferPointer(rebasing: lengthBytes[0..<n]))
            }
            do { try session.submitResponse(stream: id, status: status, hasBody: true) } catch {
                session.reset(stream: id, code: .internalError)
            }
        }
        // Whatever context answered (an upstream's event, a deadline), the connection has frames to send.
        proxy.markDirty(connection)
    }

    /// The request is answered without (the rest of) its body: what came is acknowledged and freed,
    /// what still comes is acknowledged and dropped, so the client's window never closes on it.
    func dropRequestBody() {
        discardingBody = true
        acknowledgeLater += unacknowledged
        unacknowledged = 0
        body.release(pool: proxy.loop.buffers)
        // The acknowledgement goes out from `advance`, outside the session's callbacks.
        connection.touch(self)
    }

    /// Our own body: the message and a newline, like HTTP/1.1 error responses.
    func readOwnBody(_ message: StaticString, into buffer: UnsafeMutableRawBufferPointer) -> H2BodyRead {
        let total = message.utf8CodeUnitCount + 1
        var n = 0
        message.withUTF8Buffer { text in
            while ownBodySent < total && n < buffer.count {
                buffer[n] = ownBodySent < text.count ? text[ownBodySent] : UInt8(ascii: "\n")
                ownBodySent += 1
                n += 1
            }
        }
        bytesToClient &+= UInt64(n)
        if n > 0 { connection.responseDataSent() }
        return .bytes(n, last: ownBodySent == total)
    }
}

private let contentTypeName: StaticString = "content-type"
private let textPlain: StaticString = "text/plain; charset=utf-8"
private let contentLengthName: StaticString = "content-length"
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

private func writeDecimal(_ value: Int, into out: UnsafeMutableRawBufferPointer) -> Int {
    var digits = 0
    var v = value
    repeat { digits += 1; v /= 10 } while v != 0
    v = value
    for i in stride(from: digits - 1, through: 0, by: -1) {
        out[i] = UInt8(48 + v % 10)
        v /= 10
    }
    return digits
}
