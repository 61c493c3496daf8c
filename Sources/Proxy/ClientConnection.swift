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
        /// `firstRequest`: no request was read yet, the only moment a prior-knowledge preface may
        /// arrive. `headTimed`: the header timeout runs for the request being received.
        case awaitingHead(firstRequest: Bool, headTimed: Bool)
        /// Reading a request body into `input` before choosing an upstream (`limits.requestBuffer`).
        case bufferingBody(H1Exchange.Handle)
        case exchanging(H1Exchange.Handle)
        /// The upstream answered an upgrade with 101: bytes go both ways until both sides end (ClientConnection+Tunnel.swift).
        case tunneling(H1Exchange.Handle)
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
    let peerText: NumericHost

    var state: State
    var readable = true
    var writable = true
    var peerHungUp = false
    /// The listener that accepted it: a reload that removes the listener drains its connections.
    let listener: Listener
    /// The listener speaks HTTP/2 too: a plain connection may open with the prior-knowledge preface.
    let http2: Bool
    /// The connection closes once the request in flight (or the next one, already arriving) is answered.
    var closeAfterResponse = false

    /// Bytes from the client: the current head, body bytes in transit and any pipelined requests.
    var input: ByteBuffer?
    /// Bytes for the client that came from us: response heads (and de-chunked payloads).
    var output: ByteBuffer?

    /// The exchange object while the connection has a request (from its first byte to the end of its response,
    /// and while a pipelined one waits): taken from the loop's spares (`ProxyLoop.takeExchange`) with the input
    /// buffer and given back with it (idle with nothing buffered, closed, handed over to HTTP/2), so an idle
    /// keep-alive client holds no exchange object, request head or parser. It parses the head in
    /// `.awaitingHead`, then is the payload of the state while the request is in flight: the exchange's
    /// code reaches it through the state. This strong reference keeps it alive under the state's unretained handle.
    private var exchangeStorage: H1Exchange?

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
            state = .awaitingHead(firstRequest: true, headTimed: true)
        }
        self.proxy = proxy
        peerText = NumericHost(peer)
    }

    override func handleEvent(_ events: UInt32) {
        let hangup = Reactor.readHangup | Reactor.hangup | Reactor.error
        if events & (Reactor.readable | hangup) != 0 { readable = true }
        if events & hangup != 0 {
            if case .exchanging(let handle) = state,
                H1ExchangeRules.clientAbandons(
                    events: events, alreadyHungUp: peerHungUp, requestRead: handle.object.requestBody.isFullyClassified)
            {
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

    /// Makes every step that the current readiness allows.
    func drive() {
        while true {
            let progressed: Bool
            switch state {
            case .handshaking: progressed = stepHandshake()
            case .awaitingHead(let firstRequest, let headTimed):
                progressed = stepAwaitingHead(firstRequest: firstRequest, headTimed: headTimed)
            case .bufferingBody(let handle), .exchanging(let handle): progressed = handle.borrow { driveExchange($0) }
            case .tunneling(let handle): progressed = handle.borrow { stepTunnel($0) }
            case .closing: progressed = stepClosing()
            case .lingering: progressed = stepLingering()
            case .closed: return
            }
            if !progressed { return }
        }
    }

    /// The steps of the exchange in flight, under one read of the state's payload. The payload cannot change under it: a new exchange starts
    /// only from `.awaitingHead`. True when the state left the exchange's phases; false when the
    /// exchange ran out of progress.
    private func driveExchange(_ exchange: H1Exchange) -> Bool {
        while true {
            let progressed: Bool
            switch state {
            case .bufferingBody: progressed = stepBufferingBody(exchange)
            case .exchanging: progressed = stepExchange(exchange)
            default: return true
            }
            if !progressed {
                updateRequestBodyWindow(exchange)
                return false
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
                logRejection(status: ProxyFailure.headerTimeout.status, reason: ProxyFailure.headerTimeout.logReason)
                respond(with: .headerTimeout)
                drive()
            } else {
                // Nothing of a request arrived (idle keep-alive, or a connection that never spoke): close quietly.
                close()
            }
        case .exchanging(let handle) where handle.object.requestBodyWindow != nil,
            .bufferingBody(let handle) where handle.object.requestBodyWindow != nil:
            let exchange = handle.object
            let window = exchange.requestBodyWindow!
            exchange.requestBodyWindow = nil
            requestBodyWindowEnded(exchange, window)
        case .exchanging, .closing, .bufferingBody:
            // The client stopped reading what we send it.
            close()
        case .tunneling(let handle):
            tunnelDeadlinePassed(handle.object)
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
                state = .awaitingHead(firstRequest: true, headTimed: true)
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

    private func stepAwaitingHead(firstRequest: Bool, headTimed: Bool) -> Bool {
        var mayParse = true
        if firstRequest, let input, !input.isEmpty {
            if http2 && !transport.isTLS {
                switch HTTP2Preface.match(input.readable) {
                case .yes:
                    handOverToHTTP2()
                    return false
                case .needMore:
                    // Too short to tell an HTTP/2 preface from an HTTP/1.1 request line yet.
                    mayParse = false
                case .no:
                    state = .awaitingHead(firstRequest: false, headTimed: headTimed)
                }
            } else {
                state = .awaitingHead(firstRequest: false, headTimed: headTimed)
            }
        }
        // Bytes held in `input` came with the exchange that parses them (taken below with the buffer).
        if mayParse, let input, !input.isEmpty, let exchange = exchangeStorage {
            switch exchange.parser.parse(input.readable, into: &exchange.request) {
            case .complete:
                startExchange(exchange)
                return true
            case .error(let e):
                proxy.log.debug("rejected request: \(e)")
                logRejection(status: e.status, reason: "invalid_request")
                respond(status: e.status, message: e.reason)
                return true
            case .incomplete:
                break
            }
        }
        guard readable else { return false }
        let buffer = input ?? takeInputForRequest()
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
                if !headTimed {
                    // The header timeout runs from the first byte of a keep-alive request (from accept for the
                    // first, so this is never the first request).
                    state = .awaitingHead(firstRequest: false, headTimed: true)
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

    /// A request is about to arrive: the input buffer and the exchange that parses its head, both from the loop.
    private func takeInputForRequest() -> ByteBuffer {
        let buffer = proxy.loop.buffers.take()
        input = buffer
        if exchangeStorage == nil {
            let exchange = proxy.takeExchange()
            exchange.startRequestHead(maxHeaderBytes: proxy.maxHeaderBytes, maxHeaderCount: proxy.maxHeaderCount)
            exchangeStorage = exchange
        }
        return buffer
    }

    private func releaseInputIfEmpty() {
        if let b = input, b.isEmpty {
            proxy.loop.buffers.give(b)
            input = nil
            giveExchangeBack()
        }
    }

    /// Continues as an HTTP/2 connection; this object is done without closing the socket.
    private func handOverToHTTP2() {
        let bytes = input
        input = nil
        state = .closed
        cancelDeadline()
        proxy.loop.buffers.give(from: &output)
        giveExchangeBack()
        proxy.switchToHTTP2(self, input: bytes)
    }

    // MARK: errors of our own

    /// Answers with `failure`, counting it against the arm in flight when it is the arm's fault.
    /// An arm's failure (502/503/504) names the arm when `tracing.armHeader` is on: it is the arm that failed.
    func respond(with failure: ProxyFailure) {
        recordOutcome(status: failure.status, failure: failure.kind)
        respond(status: failure.status, message: failure.message, armField: failure.kind == nil ? nil : exchangeStorage?.armField)
    }

    /// Replaces whatever was going on with a final response of ours, then closes.
    func respond(status: Int, message: StaticString, armField: ArmField? = nil) {
        cancelDeadline()
        releaseExchangeInFlight()
        let out = output ?? proxy.loop.buffers.take()
        out.clear()
        output = out
        if let n = HeadWriter.writeErrorResponse(status: status, message: message, close: true, armField: armField, into: out.writable) {
            out.commit(n)
        }
        state = .closing
        proxy.idleDeadlines.arm(self, now: proxy.loop.now)
    }

    private func stepClosing() -> Bool {
        // Our own answer: no exchange counts its bytes any more.
        var sent: UInt64 = 0
        switch flushOutput(sent: &sent) {
        case .failed, .upstreamFailed:
            close()
            return false
        case .blocked:
            return false
        case .done:
            // Our answer cut the request short: unless the client is gone with nothing unread, more
            // of it may follow.
            if peerHungUp && (input?.isEmpty ?? true) {
                transport.endSession()
                close()
                return false
            }
            linger()
            return true
        }
    }

    /// The last response is out: the connection ends. Closing with unread bytes makes the kernel
    /// send RST, which can destroy the response before the client reads it (RFC 9112 §9.6), so
    /// when the request is unfinished or more bytes may be waiting, it lingers. Otherwise it
    /// closes at once: close(2) sends the FIN itself, one syscall fewer than shutdown(2) first.
    func endAfterLastResponse(requestComplete: Bool) {
        let mayHaveUnread = !requestComplete || !(input?.isEmpty ?? true) || (readable && !peerHungUp)
        if mayHaveUnread {
            linger()
        } else {
            transport.endSession()
            close()
        }
    }

    /// Shuts the write side and drains what the client still sends, for at most the linger time,
    /// like nginx's lingering close.
    private func linger() {
        transport.shutdownWrite()
        proxy.loop.buffers.give(from: &input)
        proxy.loop.buffers.give(from: &output)
        giveExchangeBack()
        state = .lingering
        cancelDeadline()
        proxy.lingerDeadlines.arm(self, now: proxy.loop.now)
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

    /// Writes `output` to the client, adding the count written to `sent`.
    func flushOutput(sent: inout UInt64) -> FlushResult {
        guard let out = output, !out.isEmpty else { return .done }
        guard writable else { return .blocked }
        do {
            sent &+= UInt64(try transport.write(out, writable: &writable))
            return writable ? .done : .blocked
        } catch {
            return .failed
        }
    }

    // MARK: teardown

    /// Ends the exchange the state carries, if any, giving back what it holds (its upstream closed).
    private func releaseExchangeInFlight() {
        switch state {
        case .bufferingBody(let handle), .exchanging(let handle): releaseExchange(handle.object, reuseUpstream: false)
        case .tunneling(let handle):
            endTunnel(handle.object)
            releaseExchange(handle.object, reuseUpstream: false)
        default: break
        }
    }

    /// Gives back the exchange's buffers and its upstream connection (to the pool when reusable).
    func releaseExchange(_ exchange: H1Exchange, reuseUpstream: Bool) {
        exchange.requestBodyWindow = nil
        if exchange.requestPipe != nil || exchange.responsePipe != nil { releasePipes(exchange) }
        if let mirror = exchange.mirror {
            exchange.mirror = nil
            mirror.primaryReleased()
        }
        if let up = exchange.upstream {
            exchange.upstream = nil
            proxy.release(up, reusable: reuseUpstream)
        } else {
            // No HTTP/1.1 upstream: an HTTP/2 arm's stream may be open.
            exchange.http2Relay?.end()
        }
        proxy.loop.buffers.give(from: &exchange.headOut)
        proxy.loop.buffers.give(from: &exchange.reframed)
        proxy.loop.buffers.give(from: &exchange.fromUpstream)
        exchange.responseParser.reset()
        exchange.response.reset()
    }

    /// The exchange object (with its request and response header arrays) goes back to the loop while the
    /// connection holds no request (idle, closed, or handed over).
    func giveExchangeBack() {
        if let exchange = exchangeStorage.take() { proxy.recycle(exchange) }
    }

    func close() {
        if case .closed = state { return }
        // A request still in flight ends with the client gone: not the arm's fault.
        recordOutcome(status: nil, failure: nil)
        releaseExchangeInFlight()
        state = .closed
        cancelDeadline()
        proxy.loop.buffers.give(from: &input)
        proxy.loop.buffers.give(from: &output)
        giveExchangeBack()
        proxy.loop.reactor.deregister(self)
        fd.close()
        proxy.connectionClosed(listener)
    }

    /// Records how the request in flight ended, once (see `H1Exchange.recordOutcome`).
    func recordOutcome(status: Int?, failure: FailureKind?) {
        if case .exchanging(let handle) = state { handle.object.recordOutcome(status: status, failure: failure, now: proxy.loop.now) }
    }

    /// The in-flight sweep: counts the request in flight as slow once it is older than `threshold`
    /// nanoseconds (its arm's route's T), before it ends. Called every 100 ms by the loop, never per request.
    func markIfSlow(now: UInt64, threshold: (ArmShard) -> UInt64) {
        if case .exchanging(let handle) = state { handle.object.markIfSlow(now: now, threshold: threshold) }
    }

    /// The loop drains: an idle connection closes now, a busy one after its current response. A tunnel
    /// is not idle: it runs on until it ends or the drain deadline closes whatever is still open.
    func drainRequested() {
        switch state {
        case .handshaking:
            close()
        case .awaitingHead where input?.isEmpty ?? true:
            close()
        case .awaitingHead, .bufferingBody, .exchanging:
            closeAfterResponse = true
        case .tunneling, .closing, .lingering, .closed:
            break
        }
    }
}
