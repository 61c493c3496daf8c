// One downstream HTTP/1.1 connection: reads request heads, runs one exchange at a time, keeps alive or closes.
import EventLoop
import Glibc
import HTTP
import HTTP2
import Telemetry
import TLS

/// Life of a connection: wait for a head → exchange with an upstream → (keep-alive) wait again.
/// Requests are served one at a time; pipelined requests wait in `input` (bounded by its capacity).
final class ClientConnection: UpstreamOwner {
    enum State {
        /// TLS listeners: the handshake comes before any request.
        case handshaking
        case awaitingHead
        /// Reading a request body into `input` before choosing an upstream (`limits.requestBuffer`).
        case bufferingBody
        case exchanging
        /// Sending a final response of our own (an error) before closing.
        case closing
        /// Our side is shut; what the client still sends (the rest of a body we refused) is read
        /// and dropped for a moment, so closing does not reset the connection under the response.
        case lingering
        case closed
    }

    let fd: SocketDescriptor
    /// The socket itself, or a TLS session on it.
    let transport: ClientTransport
    /// Strong: a read costs no retain; the loop closes what is still open when it stops (no cycle outlives it).
    let proxy: ProxyLoop
    /// The client's numeric address, written once at accept, appended to X-Forwarded-For.
    let peerText: [UInt8]

    var state: State
    var readable = true
    var writable = true
    var peerHungUp = false
    /// The listener that accepted it: a reload that removes the listener drains its connections.
    let listener: Listener
    /// The listener speaks HTTP/2 too: a plain connection may open with the prior-knowledge preface.
    let http2: Bool
    /// No request was read yet: the only moment a prior-knowledge preface may arrive.
    var firstRequest = true
    /// The header timeout is running for the request being received.
    var headStarted = true

    /// Bytes from the client: the current head, body bytes in transit and any pipelined requests.
    var input: ByteBuffer?
    /// Bytes for the client that came from us: response heads (and de-chunked payloads).
    var output: ByteBuffer?

    var parser: RequestHeadParser
    var request = RequestHead()

    // The exchange in progress (valid while `state == .exchanging`).
    var snapshot: ProxySnapshot
    var upstream: UpstreamConnection?
    /// The arm's metrics for the request in flight; nil once its outcome is recorded.
    var shard: ArmShard?
    var requestStartedAt: UInt64 = 0
    /// The in-flight sweep counted this exchange slow (older than T); reset when an exchange begins.
    var slowMarked = false
    var bytesFromClient: UInt64 = 0
    var bytesToClient: UInt64 = 0
    /// The rewritten request head for the upstream; kept whole until a response byte arrives so a
    /// request that failed on a stale pooled connection can be sent again.
    var headOut: ByteBuffer?
    var headOutLength = 0
    var requestBody = BodyProgress.none
    /// Body bytes ready for the upstream and not yet sent: at the front of `input`, or (chunked) in `reframed`.
    var requestPending = 0
    /// A chunked request body re-framed for the upstream (see `ChunkedScanner.reframe`).
    var reframed: ByteBuffer?
    /// Request-body bytes read from the client in this exchange (after those that came with the head).
    var requestBodyRead: UInt64 = 0
    /// The `timeouts.requestBody` window running while the proxy waits for body bytes; its deadline is
    /// the connection's deadline whenever it is set (see ClientConnection+RequestBody.swift).
    var requestBodyWindow: RequestBodyWindow?
    var requestComplete = false
    var attempts = AttemptLog()
    /// Response bytes from the upstream (head, then body in transit).
    var fromUpstream: ByteBuffer?
    var responseParser: ResponseHeadParser
    var response = ResponseHead()
    var responseStarted = false
    var responseBody = BodyProgress.none
    var responsePending = 0
    /// The upstream's chunked body is decoded for an HTTP/1.0 client (which cannot read chunked).
    var dechunk = false
    var closeAfterResponse = false

    /// `session`: the TLS session of a TLS listener's connection, nil for plain HTTP.
    init(fd: SocketDescriptor, peer: SocketAddress, proxy: ProxyLoop, session: TLSSession?, http2: Bool, listener: Listener) {
        self.fd = fd
        self.listener = listener
        self.http2 = http2
        if let session {
            transport = .tls(fd, session)
            state = .handshaking
        } else {
            transport = .plain(fd)
            state = .awaitingHead
        }
        self.proxy = proxy
        var text = [UInt8](repeating: 0, count: 64)
        let n = text.withUnsafeMutableBytes { peer.writeNumericHost(into: $0) }
        peerText = Array(text[0..<n])
        parser = RequestHeadParser(maxHeaderBytes: proxy.maxHeaderBytes, maxHeaderCount: proxy.maxHeaderCount)
        responseParser = ResponseHeadParser(maxHeaderBytes: proxy.maxHeaderBytes, maxHeaderCount: proxy.maxHeaderCount)
        snapshot = proxy.snapshot
    }

    override func handleEvent(_ events: UInt32) {
        let hangup = Reactor.readHangup | Reactor.hangup | Reactor.error
        if events & (Reactor.readable | hangup) != 0 { readable = true }
        if events & hangup != 0 {
            if state == .exchanging && clientAbandonsExchange(events) {
                proxy.log.debug("client closed its connection before its response was complete")
                // The same end as any client going away mid-exchange: the abort recorded once on
                // the arm, the upstream connection closed (a response may still come on it, so it
                // cannot be reused), the client connection closed. Nothing is held against the arm.
                close()
                return
            }
            peerHungUp = true
        }
        if events & Reactor.writable != 0 { writable = true }
        drive()
    }

    /// Whether a hang-up the kernel reports (EPOLLRDHUP, EPOLLHUP, EPOLLERR: free with the
    /// registration, no syscall) ends the exchange in flight as a client abort. While the proxy waits
    /// for the upstream it does not read the client (back-pressure, and a pipelined request must wait
    /// its turn), so without this a client that gave up went unnoticed until the response or
    /// `timeouts.upstreamResponse`, which then blamed the arm with a 504.
    ///
    /// - A reset or an error (EPOLLHUP, EPOLLERR; our side is never shut during an exchange) is a
    ///   client gone: always an abort.
    /// - Readable bytes alone are not a close: a pipelined request waits in the socket.
    /// - A FIN (EPOLLRDHUP) cannot tell a close from a half-close (shutdown(SHUT_WR)), and RFC 9112
    ///   §9.6 says a half-close does not mean the client lost interest. Clients that give up close
    ///   after their timeout, long after their request; a client that half-closes does so right
    ///   after its last byte. So, as nginx does by default (proxy_ignore_client_abort off: its EOF
    ///   check on EPOLLRDHUP) and unlike HAProxy without `option abortonclose`: a FIN that arrives
    ///   once the whole request has been read, before the response is complete, is an abort. One
    ///   that arrived before that (with the head, or while the body was still being read, whose rest
    ///   comes before it) is a half-close: the request is served and the connection closed after.
    ///   A half-closing client whose FIN is late (after the proxy read the request) is taken for one
    ///   that gave up, as with nginx.
    private func clientAbandonsExchange(_ events: UInt32) -> Bool {
        if events & (Reactor.hangup | Reactor.error) != 0 { return true }
        // Edge-triggered: later events repeat EPOLLRDHUP once it is set; only the first one is news.
        if peerHungUp { return false }
        // Still reading the body: the bytes before the FIN are read first, and a 0-byte read before
        // the body's end is the abort (pumpRequest).
        return requestBody.isFullyClassified
    }

    /// Makes every step that the current readiness allows.
    func drive() {
        while true {
            let progressed: Bool
            switch state {
            case .handshaking: progressed = stepHandshake()
            case .awaitingHead: progressed = stepAwaitingHead()
            case .bufferingBody: progressed = stepBufferingBody()
            case .exchanging: progressed = stepExchange()
            case .closing: progressed = stepClosing()
            case .lingering: progressed = stepLingering()
            case .closed: return
            }
            if !progressed {
                if state == .exchanging || state == .bufferingBody { updateRequestBodyWindow() }
                return
            }
        }
    }

    override func upstreamReady() { drive() }
    override func upstreamDeadlinePassed() { exchangeDeadlinePassed() }

    override func handleDeadline() {
        switch state {
        case .handshaking:
            // timeouts.tlsHandshake passed (slowloris over TLS).
            close()
        case .awaitingHead:
            if let input, !input.isEmpty {
                respond(with: .headerTimeout)
                drive()
            } else {
                // Nothing of a request arrived (idle keep-alive, or a connection that never spoke): close quietly.
                close()
            }
        case .exchanging where requestBodyWindow != nil, .bufferingBody where requestBodyWindow != nil:
            let window = requestBodyWindow!
            requestBodyWindow = nil
            requestBodyWindowEnded(window)
        case .exchanging, .closing, .bufferingBody:
            // The client stopped reading what we send it.
            close()
        case .lingering:
            // The linger time is over: whatever the client still sends meets a closed socket.
            close()
        case .closed:
            break
        }
    }

    // MARK: TLS handshake

    private func stepHandshake() -> Bool {
        guard case .tls(_, let session) = transport else { return false }
        do {
            switch try session.handshake() {
            case .done:
                if http2 && session.negotiatedProtocol == "h2" {
                    handOverToHTTP2()
                    return false
                }
                state = .awaitingHead
                proxy.headerDeadlines.arm(self, now: proxy.loop.now)
                // The last handshake step reads ahead whatever the socket holds: the request that
                // followed the client's Finished may be inside OpenSSL now, the socket drained, and no
                // EPOLLIN will come for it (an event reported before those bytes arrived shows the
                // drained socket). That step may have run on a writable event with `readable` false,
                // so read once regardless: SSL_read returns the request or wants more.
                readable = true
                return true
            case .wantRead:
                readable = false
                return false
            case .wantWrite:
                writable = false
                return false
            }
        } catch {
            proxy.log.debug("TLS handshake failed: \(error)")
            close()
            return false
        }
    }

    // MARK: waiting for a request head

    private func stepAwaitingHead() -> Bool {
        var mayParse = true
        if firstRequest, let input, !input.isEmpty {
            firstRequest = false
            if http2 && !transport.isTLS {
                switch HTTP2Preface.match(input.readable) {
                case .yes:
                    handOverToHTTP2()
                    return false
                case .needMore:
                    // Too short to tell an HTTP/2 preface from an HTTP/1.1 request line yet.
                    firstRequest = true
                    mayParse = false
                case .no:
                    break
                }
            }
        }
        if mayParse, let input, !input.isEmpty {
            switch parser.parse(input.readable, into: &request) {
            case .complete:
                startExchange()
                return true
            case .error(let e):
                proxy.log.debug("rejected request: \(e)")
                respond(status: e.status, message: e.reason)
                return true
            case .incomplete:
                break
            }
        }
        guard readable else { return false }
        if request.headers.capacity == 0 { request.headers = proxy.takeHeaderArray() }
        let buffer = input ?? proxy.loop.buffers.take()
        input = buffer
        if buffer.writableCount == 0 { buffer.compact() }
        if buffer.writableCount == 0 {
            // The parser enforces maxHeaderBytes below the buffer size; this is a safety net.
            respond(status: 431, message: "request header fields too large")
            return true
        }
        let space = buffer.writableCount
        do {
            switch try transport.read(into: buffer.writable) {
            case .wouldBlock:
                readable = false
                releaseInputIfEmpty()
                return false
            case .value(0):
                close()
                return false
            case .value(let n):
                if !headStarted {
                    // The header timeout runs from the first byte of a keep-alive request (from accept for the first).
                    headStarted = true
                    proxy.headerDeadlines.arm(self, now: proxy.loop.now)
                }
                buffer.commit(n)
                if n < space && !peerHungUp { readable = false }
                return true
            }
        } catch {
            close()
            return false
        }
    }

    private func releaseInputIfEmpty() {
        if let b = input, b.isEmpty {
            proxy.loop.buffers.give(b)
            input = nil
        }
    }

    /// Continues as an HTTP/2 connection; this object is done without closing the socket.
    private func handOverToHTTP2() {
        let bytes = input
        input = nil
        state = .closed
        cancelDeadline()
        proxy.loop.buffers.give(from: &output)
        proxy.recycle(&request.headers)
        proxy.recycle(&response.headers)
        proxy.switchToHTTP2(self, input: bytes)
    }

    // MARK: errors of our own

    /// Answers with `failure`, counting it against the arm in flight when it is the arm's fault.
    func respond(with failure: ProxyFailure) {
        recordOutcome(status: failure.status, failure: failure.kind)
        respond(status: failure.status, message: failure.message)
    }

    /// Replaces whatever was going on with a final response of ours, then closes.
    func respond(status: Int, message: StaticString) {
        cancelDeadline()
        releaseExchange(reuseUpstream: false)
        let out = output ?? proxy.loop.buffers.take()
        out.clear()
        output = out
        if let n = HeadWriter.writeErrorResponse(status: status, message: message, close: true, into: out.writable) {
            out.commit(n)
        }
        state = .closing
        proxy.idleDeadlines.arm(self, now: proxy.loop.now)
    }

    private func stepClosing() -> Bool {
        switch flushOutput() {
        case .failed, .upstreamFailed:
            close()
            return false
        case .blocked:
            return false
        case .done:
            transport.shutdownWrite()
            // Closing with unread bytes makes the kernel send RST, which can destroy the response
            // before the client reads it (RFC 9112 §9.6): drain for a moment first, like nginx's
            // lingering close. Nothing unread and the client already gone: close now.
            if peerHungUp && (input?.isEmpty ?? true) {
                close()
                return false
            }
            proxy.loop.buffers.give(from: &input)
            state = .lingering
            cancelDeadline()
            proxy.lingerDeadlines.arm(self, now: proxy.loop.now)
            return true
        }
    }

    /// Reads and drops what the client sends until it closes, for at most the linger time.
    private func stepLingering() -> Bool {
        guard readable else { return false }
        let buffer = proxy.loop.buffers.take()
        defer { proxy.loop.buffers.give(buffer) }
        while true {
            do {
                switch try transport.read(into: buffer.writable) {
                case .wouldBlock:
                    readable = false
                    return false
                case .value(0):
                    close()
                    return false
                case .value:
                    continue
                }
            } catch {
                close()
                return false
            }
        }
    }

    enum FlushResult {
        case done, blocked, failed
        /// The upstream's body broke its framing: the exchange was ended as the upstream's failure.
        case upstreamFailed
    }

    /// Writes `output` to the client.
    func flushOutput() -> FlushResult {
        guard let out = output, !out.isEmpty else { return .done }
        guard writable else { return .blocked }
        do {
            bytesToClient &+= UInt64(try transport.write(out, writable: &writable))
            return writable ? .done : .blocked
        } catch {
            return .failed
        }
    }

    // MARK: teardown

    /// Gives back the exchange's buffers and its upstream connection (to the pool when reusable).
    func releaseExchange(reuseUpstream: Bool) {
        requestBodyWindow = nil
        if let up = upstream {
            upstream = nil
            proxy.release(up, reusable: reuseUpstream)
        }
        proxy.loop.buffers.give(from: &headOut)
        proxy.loop.buffers.give(from: &reframed)
        proxy.loop.buffers.give(from: &fromUpstream)
        responseParser.reset()
        response.reset()
    }

    func close() {
        guard state != .closed else { return }
        // A request still in flight ends with the client gone: not the arm's fault.
        recordOutcome(status: nil, failure: nil)
        state = .closed
        cancelDeadline()
        releaseExchange(reuseUpstream: false)
        proxy.loop.buffers.give(from: &input)
        proxy.loop.buffers.give(from: &output)
        proxy.recycle(&request.headers)
        proxy.recycle(&response.headers)
        proxy.loop.reactor.deregister(self)
        fd.close()
        proxy.connectionClosed(listener)
    }

    /// Records how the request in flight ended, once: a response status (with the upstream failure
    /// that caused it, if any) or, with `status` nil, the client going away.
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

    /// The loop drains: an idle connection closes now, a busy one after its current response.
    func drainRequested() {
        switch state {
        case .handshaking:
            close()
        case .awaitingHead where input?.isEmpty ?? true:
            close()
        case .awaitingHead, .bufferingBody, .exchanging:
            closeAfterResponse = true
        case .closing, .lingering, .closed:
            break
        }
    }
}
