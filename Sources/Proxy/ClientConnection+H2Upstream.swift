// An HTTP/1.1 client's request relayed to an HTTP/2 arm: the head as fields, the body as DATA under the stream's window, the response back as HTTP/1.1.
import EventLoop
import HTTP
import HTTP2
import Telemetry

extension ClientConnection {
    // MARK: start

    /// The arm chosen speaks HTTP/2: the request becomes a stream of one of its multiplexed connections.
    /// The head is kept aside (a refused stream is sent again from it); what follows it in `input` is
    /// body, pulled by the upstream session as its window allows, or the next request.
    /// Never inlined: the HTTP/1.1 arms' path keeps its code (one branch reaches this).
    @inline(never)
    func beginH2Exchange(_ exchange: H1Exchange, pool: UpstreamPool, input: ByteBuffer) {
        let relay = exchange.http2Relay ?? H1ToH2Relay(proxy: proxy, exchange: exchange)
        exchange.http2Relay = relay
        relay.start(client: self, pool: pool)
        let head = proxy.loop.buffers.take()
        head.append(UnsafeRawBufferPointer(rebasing: input.readable[0..<exchange.request.headLength]))
        relay.head = head
        input.consume(exchange.request.headLength)
        exchange.requestBody = BodyProgress(exchange.request.framing)
        exchange.requestComplete = exchange.requestBody.isFullyClassified
        closeAfterResponse = closeAfterResponse || !exchange.request.keepAlive || peerHungUp || proxy.draining
        if exchange.request.expectsContinue && !exchange.requestBody.isFullyClassified {
            // The client waits for a 100 before its body. The proxy reads the body only as the upstream's
            // window allows, so it answers for the upstream (HTTP/2 has no Expect handshake to relay).
            let out = output ?? proxy.loop.buffers.take()
            output = out
            out.append(continueHead)
        }
        openH2Stream(exchange, relay, pool: pool)
    }

    /// Opens the stream on a connection of `pool` with the request's fields; a connect that fails at
    /// once is retried within the arm, as for HTTP/1.1 arms.
    private func openH2Stream(_ exchange: H1Exchange, _ relay: H1ToH2Relay, pool: UpstreamPool) {
        let conn: H2UpstreamConnection
        do { conn = try proxy.h2Connection(for: pool) } catch {
            if let next = proxy.retryConnect(
                after: error, on: pool, method: exchange.request.method, attempts: &exchange.attempts, shard: exchange.shard)
            {
                relay.pool = next
                openH2Stream(exchange, relay, pool: next)
                return
            }
            proxy.log.info("\(error.status) \(error.message)")
            respond(with: error)
            return
        }
        guard let head = relay.head else { return }
        // Room for the lower-cased names and the composed forwarding fields; the session copies every
        // field at the submit.
        let storage = proxy.loop.buffers.take()
        defer { proxy.loop.buffers.give(storage) }
        let composed = peerText.withUnsafeBytes { peer in
            exchange.request.forEachHTTP2Field(
                source: head.readable, clientAddress: peer, proto: transport.isTLS ? "https" : "http",
                scheme: pool.tls == nil ? "http" : "https", storage: storage.writable, startTrace: exchange.startTrace
            ) { name, value in
                conn.session.addField(name: name, value: value)
            }
        }
        guard composed else {
            conn.session.discardFields()
            respond(with: .headTooLarge)
            return
        }
        do {
            relay.streamID = try conn.open(relay, hasBody: !exchange.requestBody.isNone)
        } catch {
            proxy.log.warning("HTTP/2 upstream \(pool.configured): \(error)")
            respond(with: .upstreamReset)
            return
        }
        relay.connection = conn
        proxy.responseDeadlines.arm(relay, now: proxy.loop.now)
    }

    // MARK: relay

    /// For the request-body windows (`awaitsClientBody`): the upstream session took every body byte
    /// read and asked for more. Apart, so the HTTP/1.1 arms' check stays as small as it was.
    @inline(never)
    func awaitsH2ClientBody(_ exchange: H1Exchange) -> Bool {
        exchange.http2Relay?.awaitsClientBody == true
    }

    /// One step of the exchange: what the session's events left, more body from the client, the
    /// response's bytes to the client. True when something moved.
    @inline(never)
    func stepH2Exchange(_ exchange: H1Exchange, _ relay: H1ToH2Relay) -> Bool {
        if let failure = relay.failure {
            relay.failure = nil
            failH2Exchange(exchange, relay, failure)
            return true
        }
        if let error = relay.bodyError {
            // A malformed body is the client's fault: not counted against the arm.
            exchange.recordOutcome(status: nil, failure: nil, now: proxy.loop.now)
            if exchange.responseStarted { close() } else { respond(status: error.status, message: error.reason) }
            return true
        }
        if relay.reopen, let pool = relay.pool {
            relay.reopen = false
            exchange.attempts.retried()
            openH2Stream(exchange, relay, pool: pool)
            return true
        }
        var progressed = false
        // Client → upstream: read more body only once the session took what was read (back-pressure:
        // the session takes it as the stream's window opens).
        if !exchange.requestBody.isFullyClassified && relay.connection != nil && (input?.isEmpty ?? true) && readable {
            switch readRequestBody(exchange) {
            case .read:
                progressed = true
                relay.wakeRequestBody()
            case .blocked: break
            case .closed: return true
            }
        }
        return relayH2Response(exchange, relay) || progressed
    }

    /// Upstream → client: the DATA held, framed as the head said, written while the client takes it.
    private func relayH2Response(_ exchange: H1Exchange, _ relay: H1ToH2Relay) -> Bool {
        var progressed = false
        let sentBefore = exchange.bytesToClient
        while true {
            if exchange.responseStarted && !relay.responseWritten {
                progressed = moveH2Data(exchange, relay) || progressed
            }
            switch flushOutput(sent: &exchange.bytesToClient) {
            case .failed, .upstreamFailed:
                close()
                return true
            case .blocked:
                // The client is not taking bytes: its idle timeout guards the wait (as for HTTP/1.1 arms).
                if !hasDeadline || exchange.bytesToClient != sentBefore || exchange.requestBodyWindow != nil {
                    exchange.requestBodyWindow = nil
                    proxy.idleDeadlines.arm(self, now: proxy.loop.now)
                }
                return progressed || exchange.bytesToClient != sentBefore
            case .done:
                if exchange.requestBodyWindow == nil { cancelDeadline() }
                if relay.responseWritten {
                    finishH2Exchange(exchange, relay)
                    return true
                }
                // Everything given went out: more is held only when the output filled up.
                if !exchange.responseStarted || (!relay.holdsData && !relay.upstreamFinished) { return progressed }
            }
        }
    }

    /// Moves held DATA into `output` as far as it has room, then the body's end once all came; true when
    /// anything was moved.
    private func moveH2Data(_ exchange: H1Exchange, _ relay: H1ToH2Relay) -> Bool {
        let out = output ?? proxy.loop.buffers.take()
        output = out
        var moved = false
        while relay.holdsData {
            out.compact()
            let front = relay.data.front
            if relay.framing == .none {
                // A body where none may be (HEAD, 204, 304): dropped.
                relay.data.consumeFront(front.count, pool: proxy.loop.buffers)
                relay.acknowledge(front.count)
                continue
            }
            let framing = relay.framing == .chunked ? FieldsResponseWriter.chunkFraming : 0
            let n = min(front.count, out.writableCount - framing)
            guard n > 0 else { return moved }
            let piece = UnsafeRawBufferPointer(rebasing: front[0..<n])
            if relay.framing == .chunked {
                var w = FieldsResponseWriter(into: out.writable)
                w.chunkSize(n)
                w.data(piece)
                w.chunkEnd()
                out.commit(w.result!)
            } else {
                out.append(piece)
            }
            relay.data.consumeFront(n, pool: proxy.loop.buffers)
            relay.acknowledge(n)
            moved = true
        }
        guard relay.upstreamFinished else { return moved }
        if relay.framing == .chunked {
            // The last chunk and the trailer section go out whole: wait until the output is empty.
            guard out.isEmpty else { return moved }
            var w = FieldsResponseWriter(into: out.writable)
            w.lastChunk()
            if relay.trailersStored { _ = relay.fields.take { w.trailer(name: $0, value: $1) } }
            w.endTrailers()
            if let n = w.result {
                out.commit(n)
            } else {
                // Trailers larger than a buffer are dropped; the body still ends well-formed.
                var plain = FieldsResponseWriter(into: out.writable)
                plain.lastChunk()
                plain.endTrailers()
                out.commit(plain.result!)
            }
        }
        relay.responseWritten = true
        return true
    }

    // MARK: heads (inside the upstream session's receive: memory only, the client is driven after)

    /// An interim head (100 Continue, 103 Early Hints) is relayed, never to an HTTP/1.0 client, which
    /// cannot tell it from the final response (RFC 9110 §15.2).
    func writeInterimHead(_ exchange: H1Exchange, _ relay: H1ToH2Relay) {
        guard exchange.request.versionMinor != 0, !exchange.responseStarted else { return }
        let out = output ?? proxy.loop.buffers.take()
        output = out
        var w = startHead(relay, armField: exchange.armField, in: out)
        w.endInterim()
        if let n = w.result { out.commit(n) }
    }

    /// Writes the final head into `output` with the framing `H2ResponseFraming` chooses; false when it
    /// did not fit.
    func writeFinalHead(_ exchange: H1Exchange, _ relay: H1ToH2Relay) -> Bool {
        let out = output ?? proxy.loop.buffers.take()
        output = out
        var w = startHead(relay, armField: exchange.armField, in: out)
        let plan = H2ResponseFraming(
            status: relay.fields.status, requestIsHead: exchange.request.method == .head, hasContentLength: w.sawContentLength,
            endedWithHead: relay.endedWithHead, clientVersionMinor: exchange.request.versionMinor,
            closeAfterResponse: closeAfterResponse)
        if let due = exchange.cookie, let cookies = proxy.affinityCookies(due, line: true) {
            w.proxyFields(cookies.buffer.readable)
            proxy.loop.buffers.give(cookies.buffer)
        }
        w.endHead(chunked: plan.body == .chunked, zeroLength: plan.zeroLength, connection: plan.directive)
        guard let n = w.result else { return false }
        out.commit(n)
        closeAfterResponse = plan.closeAfter
        relay.framing = plan.body
        exchange.responseStarted = true
        return true
    }

    /// The status line and the fields of the head stored in `relay`, written after what `out` holds;
    /// with `armField`, the arm's field in place of any the upstream sent by that name.
    private func startHead(_ relay: H1ToH2Relay, armField: ArmField?, in out: ByteBuffer) -> FieldsResponseWriter {
        out.compact()
        var w = FieldsResponseWriter(into: out.writable)
        w.statusLine(relay.fields.status)
        _ = relay.fields.take { name, value in
            if let armField, armField.isNamed(name) { return }
            w.field(name: name, value: value)
        }
        if let armField { w.proxyFields(armField.line) }
        return w
    }

    // MARK: end of the exchange

    /// The whole response reached the client: its outcome is recorded on the arm, as for HTTP/1.1 arms.
    private func finishH2Exchange(_ exchange: H1Exchange, _ relay: H1ToH2Relay) {
        // A gRPC-style failing `grpc-status` counts as for HTTP/2 clients (seen when trailers were relayed).
        exchange.recordOutcome(status: relay.fields.status, failure: relay.fields.failedGRPC ? .grpcError : nil, now: proxy.loop.now)
        // Answered before the whole body was read: the rest is unread, so the connection closes after.
        exchange.requestComplete = exchange.requestBody.isFullyClassified
        releaseExchange(exchange, reuseUpstream: false)
        awaitNextRequest(after: exchange)
    }

    /// The stream failed. Before any of the response reached the client it gets the failure's status
    /// (a head only queued is replaced); after, the connection is cut (a reset: the end of the body must
    /// not look complete).
    private func failH2Exchange(_ exchange: H1Exchange, _ relay: H1ToH2Relay, _ failure: ProxyFailure) {
        let attempt = AttemptFailure(
            failure: failure, connected: true, responseBytesReceived: relay.headArrived,
            clientHasResponse: exchange.responseStarted && exchange.bytesToClient > 0, replayable: false, method: exchange.request.method,
            retriesSoFar: exchange.attempts.retries)
        if let pool = relay.pool { proxy.log.info("\(failure.status) \(failure.message) (\(pool.configured))") }
        end(exchange, attempt.ending, failure)
    }

    /// The response deadline passed: the upstream's silence fails the exchange (504), the client's
    /// (its body not arriving, or its not reading) keeps it waiting under the client's own deadlines.
    func h2ResponseDeadlinePassed(_ exchange: H1Exchange, _ relay: H1ToH2Relay) {
        guard case .exchanging = state else { return }
        let awaitingClientBody = relay.awaitsClientBody && !readable
        let blockedOnClient = exchange.responseStarted && (!writable || relay.holdsData)
        let silence = UpstreamSilence.judge(connected: true, awaitingClientBody: awaitingClientBody, blockedOnClient: blockedOnClient)
        switch silence {
        case .client:
            proxy.responseDeadlines.arm(relay, now: proxy.loop.now)
            if blockedOnClient && !hasDeadline { proxy.idleDeadlines.arm(self, now: proxy.loop.now) }
            if awaitingClientBody { updateRequestBodyWindow(exchange) }
        case .upstream(let failure):
            failH2Exchange(exchange, relay, failure)
            drive()
        }
    }
}

private let continueHeadBytes: StaticString = "HTTP/1.1 100 Continue\r\n\r\n"
private var continueHead: UnsafeRawBufferPointer {
    UnsafeRawBufferPointer(start: continueHeadBytes.utf8Start, count: continueHeadBytes.utf8CodeUnitCount)
}
