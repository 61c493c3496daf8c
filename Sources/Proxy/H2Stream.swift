// One HTTP/2 stream: its request, what it does with it (`H2Exchange`), how it is answered and how it ends.
import EventLoop
import HTTP
import HTTP2
import Telemetry

/// A stream is one request of its arm: relayed to an HTTP/1.1 upstream exactly like a request of an
/// HTTP/1.1 client (H2Stream+Exchange), to an HTTP/2 upstream as a stream (H2Stream+H2Upstream), or
/// answered by the proxy itself. Objects are reused by the loop (`takeH2Stream`/`recycle`) with their
/// arrays' capacity and their relay objects.
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

    var request: H2Request
    /// What the stream does with its request: which role is on (see H2Exchange for where its data lives).
    var exchange = H2Exchange.ended
    /// The arm the request was routed to, from routing until its outcome is recorded (once).
    var outcome: H2PendingOutcome?
    /// The Set-Cookie the response head owes (session affinity); set when the request is routed.
    var cookie: CookieDue?
    /// `tracing.armHeader`: the field naming the request's arm (in `snapshot`'s ArmFields); nil until routed.
    var armField: ArmField?
    /// The request's fields for its access-log line; nil while the log is off.
    var logCapture: AccessLogCapture?
    /// The config the request was routed under.
    var snapshot: ProxySnapshot
    var bytesToClient: UInt64 = 0
    /// The deadline of the request body's current progress window (see H2Stream+RequestBody).
    lazy var bodyWindow = H2RequestBodyWindow(stream: self)

    /// Each relay's data: made once per stream object and reused by its streams (`let`: a read costs no
    /// retain). Private: outside this file a relay is reached through `relayingHTTP1`/`relayingHTTP2`,
    /// nil unless `exchange` is its case, so a role's data is used only in its phase.
    private let http1Relay: H2HTTP1Relay
    private let http2Relay = H2HTTP2Relay()

    /// The HTTP/1.1 relay while the exchange is `.relayingHTTP1`, else nil.
    var relayingHTTP1: H2HTTP1Relay? {
        if case .relayingHTTP1 = exchange { return http1Relay }
        return nil
    }

    /// The HTTP/2 relay while the exchange is `.relayingHTTP2`, else nil.
    var relayingHTTP2: H2HTTP2Relay? {
        if case .relayingHTTP2 = exchange { return http2Relay }
        return nil
    }

    init(proxy: ProxyLoop, connection: H2Connection) {
        self.proxy = proxy
        self.connection = connection
        session = connection.session
        request = H2Request(maxListSize: proxy.maxHeaderBytes, maxCount: proxy.maxHeaderCount)
        http1Relay = H2HTTP1Relay(maxHeaderBytes: proxy.maxHeaderBytes, maxHeaderCount: proxy.maxHeaderCount)
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
        armField = nil
        request.restart(maxListSize: proxy.maxHeaderBytes, maxCount: proxy.maxHeaderCount, scratch: proxy.loop.buffers.take())
        exchange = .receivingHead
        bytesToClient = 0
    }

    func addField(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) -> Bool {
        request.addField(name: name, value: value, maxListSize: proxy.maxHeaderBytes, maxCount: proxy.maxHeaderCount)
    }

    func addTrailerField(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) -> Bool {
        request.addTrailerField(name: name, value: value, maxListSize: proxy.maxHeaderBytes)
    }

    func headEnded(endStream: Bool) {
        request.progress.ended = endStream
        startExchange()
    }

    /// Request DATA: queued for the upstream (with chunk framing when needed), acknowledged once written there.
    func received(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0, !finished, request.receive(bytes, pool: proxy.loop.buffers) else { return }
        if case .relayingHTTP2 = exchange { wakeUpstreamBody(http2Relay) }
    }

    func requestBodyEnded() {
        request.bodyEnded(pool: proxy.loop.buffers)
        if case .relayingHTTP2 = exchange { wakeUpstreamBody(http2Relay) }
    }

    /// The session closed the stream: after our last frame, or reset by the client or by us.
    func closed(errorCode: UInt32) {
        finished = true
        cancelDeadline()
        bodyWindow.cancelDeadline()
        // Still recording means the response did not complete: the client went away or reset it.
        recordOutcome(status: nil, failure: nil)
        endExchange(reuseUpstream: false)
        request.releaseBuffers(pool: proxy.loop.buffers)
    }

    /// The connection is closing with this stream open.
    func connectionGone() {
        guard !finished else { return }
        closed(errorCode: H2ErrorCode.cancel.rawValue)
    }

    // MARK: the exchange

    /// The head ended: the checks the head's fields must pass, then routing, then the role that relays it.
    func startExchange() {
        guard let scratch = request.scratch else { return }
        request.fields.finish()
        let source = UnsafeRawBufferPointer(start: scratch.base, count: request.fields.used)
        if proxy.accessLog.isOn { captureForLog(source: source) }
        switch request.fields.problem {
        case .tooLarge?:
            respond(status: 431, message: "request header fields too large")
            return
        case .incomplete?:
            respond(status: 400, message: "request lacks :method or :path")
            return
        case nil:
            break
        }
        // The rules the HTTP/1.1 parser applies (CONNECT's 501 among them): the upstream sees the
        // request as an HTTP/1.1 request line and Host, so it must be one that parser accepts.
        if request.progress.headProblem == nil, let target = request.fields.target {
            do { try request.rules.checkTarget(path: source.slice(target), method: request.fields.method) } catch {
                request.progress.headProblem = error
            }
        }
        var webSocket = false
        if request.fields.method == .connect || request.fields.connectProtocol != nil {
            switch ExtendedConnect.decide(
                method: request.fields.method, connectProtocol: request.fields.connectProtocol.map { source.slice($0) })
            {
            case .webSocket: webSocket = true
            case .refused(let error): request.progress.headProblem = request.progress.headProblem ?? error
            case .ordinary: break
            }
        }
        if let problem = request.progress.headProblem {
            respond(status: problem.status, message: problem.reason)
            return
        }
        snapshot = proxy.snapshot
        if webSocket && webSocketRouteSpeaksHTTP2(source) {
            respond(status: ProxyFailure.webSocketNeedsHTTP1.status, message: ProxyFailure.webSocketNeedsHTTP1.message)
            return
        }
        let decision: RouteDecision
        switch request.withView(source: source, { proxy.route($0, client: .http2) }) {
        case .refused(let failure):
            logRefusal(failure)
            fail(failure)
            return
        case .routed(let routed):
            decision = routed
        }
        logCapture?.routed(decision)
        outcome = H2PendingOutcome(shard: decision.shard, startedAt: proxy.loop.now)
        cookie = decision.cookie
        if request.startsTrace(starting: snapshot.startsTraces, source: source) { request.progress.startTrace = proxy.traceIDs.next() }
        armField = snapshot.armFields?.field(route: decision.route.index, arm: decision.arm)
        if webSocket {
            startWebSocketExchange(decision, source: source)
        } else if decision.pool.protocolKind == .h2 {
            startHTTP2Exchange(pool: decision.pool, source: source)
        } else {
            startHTTP1Exchange(decision, source: source)
        }
    }

    /// Starts relaying to an HTTP/1.1 upstream the request whose head (as HTTP/1.1) is `headOut`.
    func startRelayingHTTP1(headOut: ByteBuffer, length: Int) -> H2HTTP1Relay {
        http1Relay.start(headOut: headOut, length: length, maxHeaderBytes: proxy.maxHeaderBytes, maxHeaderCount: proxy.maxHeaderCount)
        exchange = .relayingHTTP1
        return http1Relay
    }

    /// Starts relaying the request as a stream to an endpoint of `pool` (an HTTP/2 arm).
    func startRelayingHTTP2(pool: UpstreamPool) -> H2HTTP2Relay {
        http2Relay.start(pool: pool)
        exchange = .relayingHTTP2
        return http2Relay
    }

    /// Ends the exchange's role: an HTTP/1.1 upstream connection goes back to its pool when
    /// `reuseUpstream` (the exchange left it clean), else is closed; an HTTP/2 upstream stream still
    /// open is cancelled; the relay's buffers go back to the pool.
    func endExchange(reuseUpstream: Bool) {
        switch exchange {
        case .relayingHTTP1:
            exchange = .ended
            if http1Relay.tunnelShard != nil { endTunnel(http1Relay) }
            if let up = http1Relay.upstream { proxy.release(up, reusable: reuseUpstream) }
            http1Relay.release(pool: proxy.loop.buffers)
        case .relayingHTTP2:
            exchange = .ended
            if let conn = http2Relay.connection {
                cancelDeadline()
                conn.abandon(http2Relay.streamID, cancel: !http2Relay.upstreamFinished)
            }
            http2Relay.release(pool: proxy.loop.buffers)
        case .receivingHead, .answering, .ended:
            exchange = .ended
        }
    }

    /// Whether the role lets the request wait on the client's body (see `awaitingClientBody`): an HTTP/1.1
    /// upstream connected and holding all of the head; a gRPC stream's client, once the response is under
    /// way, may rightly send nothing for a long time.
    var roleAwaitsClientBody: Bool {
        switch exchange {
        // A WebSocket's client may rightly send nothing for long: `timeouts.tunnel` watches it instead.
        case .relayingHTTP1:
            return http1Relay.tunnel == .none && (http1Relay.upstream?.connected ?? true) && (http1Relay.headOut?.isEmpty ?? true)
        case .relayingHTTP2: return !(http2Relay.headDelivered && http2Relay.fields.isGRPC)
        case .receivingHead, .answering, .ended: return true
        }
    }

    /// The response head was handed to the client's session (after an own answer, or once the exchange ended).
    var responseStarted: Bool {
        switch exchange {
        case .receivingHead: return false
        case .relayingHTTP1: return http1Relay.headSubmitted
        case .relayingHTTP2: return http2Relay.headDelivered
        case .answering, .ended: return true
        }
    }

    /// Records how the request ended, once (see ClientConnection.recordOutcome).
    func recordOutcome(status: Int?, failure: FailureKind?) {
        if logCapture != nil { endLogCapture(status: status, failure: failure?.label) }
        guard let outcome else { return }
        self.outcome = nil
        outcome.shard.recordOutcome(
            status: status, failure: failure, latencyNanoseconds: proxy.loop.now &- outcome.startedAt,
            bytesFromClient: request.progress.bytesFromClient, bytesToClient: bytesToClient,
            slowMarked: outcome.slowMarked, retriedFailure: outcome.attempts.hidFailure)
    }

    /// The in-flight sweep: counts the request in flight as slow once it is older than `threshold`
    /// nanoseconds (its arm's route's T), before it ends. Called every 100 ms by the loop, never per request.
    func markIfSlow(now: UInt64, threshold: (ArmShard) -> UInt64) {
        guard var pending = outcome else { return }
        pending.shard.markIfSlow(startedAt: pending.startedAt, now: now, threshold: threshold(pending.shard), marked: &pending.slowMarked)
        outcome = pending
    }

    /// Makes the progress the stream's state allows (outside the session's callbacks).
    func advance() {
        guard !finished else { return }
        defer { updateRequestBodyWindow() }
        if request.progress.acknowledgeLater > 0 {
            session.consume(stream: id, request.progress.acknowledgeLater)
            request.progress.acknowledgeLater = 0
        }
        if case .relayingHTTP1 = exchange { advanceHTTP1(http1Relay) }
    }

    /// Fills a DATA frame of the response (inside the session's send), from whichever role answers.
    func readBody(into out: UnsafeMutableRawBufferPointer) -> H2BodyRead {
        switch exchange {
        case .relayingHTTP1:
            return readHTTP1Body(http1Relay, into: out)
        case .relayingHTTP2:
            return readUpstreamData(http2Relay, into: out)
        case .answering(var own):
            let (n, last) = own.read(into: out)
            exchange = .answering(own)
            bytesToClient &+= UInt64(n)
            if n > 0 { connection.responseDataSent() }
            return .bytes(n, last: last)
        case .receivingHead, .ended:
            return .failed
        }
    }

    // MARK: answers of our own

    /// Ends the exchange with `failure`: answered with it while the client has nothing of the response,
    /// else cut (`ExchangeEnding`).
    func fail(_ failure: ProxyFailure) {
        end(with: failure, responseStarted ? .cut : .answer(failure))
    }

    /// An answer is counted against the arm when it is the arm's fault; a cut resets the stream, and
    /// the arm records the truncated response as `ExchangeEnding.cutStatus`.
    func end(with failure: ProxyFailure, _ ending: ExchangeEnding) {
        switch ending {
        case .cut:
            proxy.log.info("\(failure.status) \(failure.message) (HTTP/2 stream cut)")
            recordOutcome(status: ExchangeEnding.cutStatus, failure: failure.kind)
            endExchange(reuseUpstream: false)
            session.reset(stream: id, code: .internalError)
            proxy.markDirty(connection)
        case .answer(let failure):
            if failure.kind != nil { proxy.log.info("\(failure.status) \(failure.message)") }
            recordOutcome(status: failure.status, failure: failure.kind)
            // An arm's failure names the arm (`tracing.armHeader`): it is the arm that failed.
            respond(status: failure.status, message: failure.message, armField: failure.kind == nil ? nil : armField)
        }
    }

    /// Submits a plain-text response of ours; the request body, if still coming, is dropped.
    func respond(status: Int, message: StaticString, armField: ArmField? = nil) {
        // An answer of ours no outcome or refusal recorded first: the head broke the rules.
        if logCapture != nil { endLogCapture(status: status, failure: "invalid_request") }
        endExchange(reuseUpstream: false)
        if !request.progress.ended || !request.body.isEmpty { dropRequestBody() }
        let own = H2OwnResponse(message: message)
        exchange = .answering(own)
        var digits: (UInt64, UInt64) = (0, 0)
        let n = withUnsafeMutableBytes(of: &digits) { writeDecimal(own.length, into: $0) }
        withUnsafeBytes(of: &digits) { lengthBytes in
            contentTypeName.withUTF8Buffer { name in
                textPlain.withUTF8Buffer { value in
                    session.addField(name: UnsafeRawBufferPointer(name), value: UnsafeRawBufferPointer(value))
                }
            }
            contentLengthName.withUTF8Buffer { name in
                session.addField(name: UnsafeRawBufferPointer(name), value: UnsafeRawBufferPointer(rebasing: lengthBytes[0..<n]))
            }
            if let armField { session.addField(name: armField.name, value: armField.value) }
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
        request.dropBody(pool: proxy.loop.buffers)
        // The acknowledgement goes out from `advance`, outside the session's callbacks.
        connection.touch(self)
    }
}

/// The request's arm while its outcome is still to record: the shard it counts on, since when, whether
/// the in-flight sweep counted it slow, and its retries within the arm.
struct H2PendingOutcome {
    let shard: ArmShard
    let startedAt: UInt64
    var slowMarked = false
    var attempts = AttemptLog()
}

private let contentTypeName: StaticString = "content-type"
private let textPlain: StaticString = "text/plain; charset=utf-8"
private let contentLengthName: StaticString = "content-length"

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
