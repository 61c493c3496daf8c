// The exchange of one request: route and arm choice, upstream connect, streaming both ways with back-pressure, failures.
import EventLoop
import HTTP
import Telemetry

extension ClientConnection {
    // MARK: start

    /// A request head arrived: its body is buffered first (`limits.requestBuffer`), or the exchange begins now.
    func startExchange(_ exchange: H1Exchange) {
        cancelDeadline()
        exchange.begin(snapshot: proxy.snapshot)
        if bodyToBuffer(exchange) > 0 {
            state = .bufferingBody(H1Exchange.Handle(exchange))
            return
        }
        beginExchange(exchange)
    }

    /// Routes the request, picks its arm and connects upstream (after its body was buffered, if it was).
    func beginExchange(_ exchange: H1Exchange) {
        cancelDeadline()
        exchange.requestBodyWindow = nil
        state = .exchanging(H1Exchange.Handle(exchange))
        guard let input else { return }
        let bytes = input.readable
        exchange.route(under: proxy.snapshot)
        if proxy.accessLog.isOn { captureForLog(exchange, source: bytes) }
        let decision: RouteDecision
        switch exchange.request.withView(source: bytes, { proxy.route($0, client: .http1) }) {
        case .refused(let failure):
            exchange.logRefusal(failure, now: proxy.loop.now)
            consumeRequestHeadAndRespond(exchange, failure)
            return
        case .routed(let routed):
            decision = routed
        }
        exchange.logCapture?.routed(decision)
        exchange.shard = decision.shard
        exchange.cookie = decision.cookie
        exchange.startTrace =
            TraceContext.startsTrace(starting: exchange.snapshot.startsTraces, received: exchange.request.traceparent, in: bytes)
            ? proxy.traceIDs.next() : nil
        exchange.armField = exchange.snapshot.armFields?.field(route: decision.route.index, arm: decision.arm)
        exchange.startedAt = proxy.loop.now
        exchange.bytesFromClient = UInt64(exchange.request.headLength)
        if decision.pool.protocolKind == .h2 {
            // An h2 arm cannot switch protocols: an upgrade is ignored there, as RFC 9110 §7.8 lets a server do.
            beginH2Exchange(exchange, pool: decision.pool, input: input)
            return
        }
        exchange.upgrade = exchange.request.upgrade

        // Rewrite the head for the upstream, then drop it from `input`: what follows is body or the next request.
        let out = proxy.loop.buffers.take()
        let written = peerText.withUnsafeBytes { peer in
            HeadWriter.writeRequest(
                exchange.request, source: bytes, clientAddress: peer, proto: transport.isTLS ? "https" : "http",
                upgrade: exchange.upgrade, startTrace: exchange.startTrace, into: out.writable)
        }
        guard let written else {
            proxy.loop.buffers.give(out)
            exchange.logRefusal(.headTooLarge, now: proxy.loop.now)
            consumeRequestHeadAndRespond(exchange, .headTooLarge)
            return
        }
        out.commit(written)
        exchange.headOut = out
        exchange.headOutLength = written
        // An upgrade is never copied: a canary's 101 would open a second tunnel nobody reads.
        if let mirror = decision.route.mirror, !exchange.upgrade {
            exchange.mirror = startMirror(mirror, decision, exchange, source: bytes, head: out.readable)
        }
        input.consume(exchange.request.headLength)
        exchange.requestBody = BodyProgress(exchange.request.framing)
        closeAfterResponse = closeAfterResponse || !exchange.request.keepAlive || peerHungUp || proxy.draining
        connectUpstream(exchange, pool: decision.pool, reuse: true)
    }

    /// A request we answer ourselves: its body (if any) is unread, so the connection closes afterwards.
    private func consumeRequestHeadAndRespond(_ exchange: H1Exchange, _ failure: ProxyFailure) {
        input?.consume(exchange.request.headLength)
        respond(with: failure)
    }

    /// Binds an idle pooled connection, or starts a non-blocking connect (a connect that fails at once
    /// is retried within the arm, as one that fails later is).
    private func connectUpstream(_ exchange: H1Exchange, pool: UpstreamPool, reuse: Bool) {
        switch proxy.bindUpstream(pool: pool, reuse: reuse, owner: self) {
        case .success(let up): exchange.upstream = up
        case .failure(let failure):
            if let next = proxy.retryConnect(
                after: failure, on: pool, method: exchange.request.method, attempts: &exchange.attempts, shard: exchange.shard)
            {
                connectUpstream(exchange, pool: next, reuse: next !== pool)
                return
            }
            failExchange(failure)
        }
    }

    // MARK: relay

    func stepExchange(_ exchange: H1Exchange) -> Bool {
        guard let up = exchange.upstream else {
            // No HTTP/1.1 upstream bound: the request may be a stream of an HTTP/2 arm.
            guard let relay = exchange.http2Relay, relay.isActive else { return false }
            return stepH2Exchange(exchange, relay)
        }
        if !up.connected {
            guard up.writable || up.hungUp else { return false }
            if let failure = up.completeConnect() {
                failUpstream(exchange, failure)
                return true
            }
        }
        let sent = pumpRequest(exchange, up)
        // A failure may have ended the exchange, or a retry bound a fresh connection in place of `up`.
        guard case .exchanging = state, exchange.upstream === up else { return true }
        let received = pumpResponse(exchange, up)
        return sent || received
    }

    /// Client → upstream: the rewritten head, then body bytes as they arrive. Reads from the client only
    /// when everything read so far has been handed to the upstream (back-pressure).
    private func pumpRequest(_ exchange: H1Exchange, _ up: UpstreamConnection) -> Bool {
        if exchange.requestComplete { return false }
        if exchange.requestPipe != nil { return spliceRequestBody(exchange, up) }
        var progressed = false
        if let input, let error = takeRequestBody(exchange, from: input) {
            // A malformed body is the client's fault: not counted against the arm.
            exchange.recordOutcome(status: nil, failure: nil, now: proxy.loop.now)
            if exchange.responseStarted { close() } else { respond(status: error.status, message: error.reason) }
            return true
        }
        let head = exchange.headOut.map { $0.readable } ?? UnsafeRawBufferPointer(start: nil, count: 0)
        let bodySource = exchange.reframed ?? input
        let body =
            bodySource.map { UnsafeRawBufferPointer(rebasing: $0.readable[0..<exchange.requestPending]) }
            ?? UnsafeRawBufferPointer(start: nil, count: 0)
        if head.count + body.count > 0 {
            guard up.writable else { return false }
            do {
                let result = try up.transport.write(head, body, scratch: proxy.tlsRecordScratch)
                switch result {
                case .wouldBlock:
                    up.writable = false
                    return false
                case .value(let n):
                    let fromHead = min(n, head.count)
                    exchange.headOut?.consume(fromHead)
                    let fromBody = n - fromHead
                    if fromBody > 0 {
                        bodySource!.consume(fromBody)
                        exchange.requestPending -= fromBody
                        // Re-framed bytes were counted as they were taken from `input`.
                        if exchange.reframed == nil { exchange.bytesFromClient &+= UInt64(fromBody) }
                    }
                    if n < head.count + body.count { up.writable = false }
                    progressed = n > 0
                    proxy.responseDeadlines.arm(up, now: proxy.loop.now)
                }
            } catch {
                failUpstream(exchange, .upstreamReset)
                return true
            }
        }
        let headSent = exchange.headOut.map { $0.isEmpty } ?? true
        if headSent && exchange.requestPending == 0 && exchange.requestBody.isFullyClassified {
            exchange.requestComplete = true
            return true
        }
        // Need more body from the client: the rest may be spliced (ClientConnection+Splice.swift).
        if headSent && exchange.requestPending == 0 && startsRequestSplice(exchange, up) { return true }
        if exchange.requestPending == 0 && readable && !exchange.requestBody.isFullyClassified {
            switch readRequestBody(exchange, towardTLS: up.transport.isTLS) {
            case .read: progressed = true
            case .blocked: break
            case .closed: return true
            }
        }
        return progressed
    }

    /// Makes the body bytes that arrived in `input` ready for the upstream (`requestPending`): a length
    /// or close-delimited body is sent from `input` as it is, a chunked one re-framed into `reframed`.
    private func takeRequestBody(_ exchange: H1Exchange, from input: ByteBuffer) -> HTTPParseError? {
        guard case .chunked(var scanner, false) = exchange.requestBody else {
            switch exchange.requestBody.classify(input.readable, alreadyPending: exchange.requestPending) {
            case .success(let n): exchange.requestPending += n
            case .failure(let e): return e
            }
            return nil
        }
        let out = exchange.reframed ?? proxy.loop.buffers.take()
        exchange.reframed = out
        out.compact()
        let room = max(0, out.writableCount - ChunkedScanner.reframeSlack)
        let feed = UnsafeRawBufferPointer(rebasing: input.readable.prefix(room))
        let consumed: Int
        var finished = false
        switch scanner.reframe(feed, emit: { out.append($0) }) {
        case .needMore(let n): consumed = n
        case .done(let n): consumed = n; finished = true
        case .error(let e): return e
        }
        input.consume(consumed)
        exchange.bytesFromClient &+= UInt64(consumed)
        exchange.requestBody = .chunked(scanner, done: finished)
        exchange.requestPending = out.readableCount
        return nil
    }

    /// Upstream → client: response heads (1xx relayed, then the final one), then the body by its framing.
    private func pumpResponse(_ exchange: H1Exchange, _ up: UpstreamConnection) -> Bool {
        var progressed = false
        if !exchange.responseStarted, let buffer = exchange.fromUpstream, !buffer.isEmpty {
            switch exchange.responseParser.parse(buffer.readable, requestMethod: exchange.request.method, into: &exchange.response) {
            case .complete:
                if !acceptResponseHead(exchange, buffer) { return true }
                // After an interim head the final one may already be in the buffer: parse again
                // before reading (a read could meet the upstream's close and fail the exchange).
                if !exchange.responseStarted { return true }
                progressed = true
            case .error(let e):
                proxy.log.warning("invalid response from \(up.pool.configured): \(e)")
                failUpstream(exchange, .invalidResponse)
                return true
            case .incomplete:
                break
            }
        }
        let sentBefore = exchange.bytesToClient
        let flushed = exchange.responseStarted ? relayResponseBody(exchange) : flushOutput(sent: &exchange.bytesToClient)
        switch flushed {
        case .failed:
            close()
            return true
        case .upstreamFailed:
            return true
        case .blocked:
            // The client is not taking bytes: its idle timeout guards the wait, counted from the last
            // bytes it took (a slow reader that keeps reading is not idle). It replaces a request-body
            // window: a client that neither reads nor sends is idle.
            if !hasDeadline || exchange.bytesToClient != sentBefore || exchange.requestBodyWindow != nil {
                exchange.requestBodyWindow = nil
                proxy.idleDeadlines.arm(self, now: proxy.loop.now)
            }
        case .done:
            // Nothing to write: the idle deadline is done with, a request-body window runs on.
            if exchange.requestBodyWindow == nil { cancelDeadline() }
            if exchange.responseStarted && exchange.responseBody.isDone {
                finishExchange(exchange)
                return true
            }
        }
        // Need more from the upstream: the splice step reads it while a pipe carries the body.
        if exchange.responseStarted {
            if exchange.responsePipe != nil { return progressed }
            if startsResponseSplice(exchange, up) { return true }
        }
        guard up.readable else { return progressed }
        let buffer = exchange.fromUpstream ?? proxy.loop.buffers.take()
        exchange.fromUpstream = buffer
        if buffer.writableCount == 0 { buffer.compact() }
        guard buffer.writableCount > 0 else {
            if exchange.responseStarted { return progressed }  // wait for the client to take what we hold
            failUpstream(exchange, .invalidResponse)  // a response head larger than the buffer
            return true
        }
        // A body for a TLS client is read in whole records (BodyReadSize); a head, as much as fits.
        let space =
            exchange.responseStarted
            ? BodyReadSize.read(space: buffer.writableCount, towardTLS: transport.isTLS) : buffer.writableCount
        do {
            switch try up.transport.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer.writable[0..<space])) {
            case .wouldBlock:
                up.readable = false
                return progressed
            case .value(0):
                up.readable = false
                up.hungUp = true
                if exchange.responseStarted && exchange.responseBody.progress.isUntilClose {
                    // A close-delimited body ends here.
                    exchange.responseBody.progress = .none
                    closeAfterResponse = true
                    return true
                }
                failUpstream(exchange, .upstreamClosed)
                return true
            case .value(let n):
                buffer.commit(n)
                if n < space && !up.hungUp { up.readable = false }
                proxy.responseDeadlines.arm(up, now: proxy.loop.now)
                return true
            }
        } catch {
            failUpstream(exchange, .upstreamReset)
            return true
        }
    }

    /// Handles a complete response head in `buffer`; false when the exchange ended (failure).
    private func acceptResponseHead(_ exchange: H1Exchange, _ buffer: ByteBuffer) -> Bool {
        let out = output ?? proxy.loop.buffers.take()
        output = out
        if exchange.response.status < 200 {
            if exchange.response.status == 101 {
                // A switch nobody asked for (no Upgrade went upstream) is a broken upstream.
                if exchange.upgrade { switchToTunnel(exchange, buffer, into: out) } else { failUpstream(exchange, .invalidResponse) }
                return false
            }
            // Interim responses (100 Continue, 103 Early Hints) are relayed and the final head is
            // awaited; never to an HTTP/1.0 client, which cannot tell them from the final response
            // (RFC 9110 §15.2).
            if exchange.request.versionMinor != 0,
                let n = HeadWriter.writeResponse(
                    exchange.response, source: buffer.readable, chunked: false, connection: .none,
                    armField: exchange.armField, into: out.writable)
            {
                out.commit(n)
            }
            buffer.consume(exchange.response.headLength)
            exchange.responseParser.reset()
            exchange.response.reset()
            return true
        }
        let plan = FinalHeadPlan(
            clientVersionMinor: exchange.request.versionMinor, framing: exchange.response.framing,
            closeAfterResponse: closeAfterResponse)
        closeAfterResponse = plan.closeAfter
        // Session affinity's Set-Cookie lines, written into a pooled buffer lent for the head.
        let cookies = exchange.cookie.flatMap { proxy.affinityCookies($0, line: true) }
        defer { if let cookies { proxy.loop.buffers.give(cookies.buffer) } }
        guard
            let n = HeadWriter.writeResponse(
                exchange.response, source: buffer.readable, chunked: plan.chunked, connection: plan.directive,
                proxyFields: cookies?.buffer.readable ?? UnsafeRawBufferPointer(start: nil, count: 0), armField: exchange.armField,
                into: out.writable)
        else {
            failUpstream(exchange, .invalidResponse)
            return false
        }
        out.commit(n)
        exchange.mirror?.primaryHead(
            UnsafeRawBufferPointer(rebasing: buffer.readable.prefix(exchange.response.headLength)), framing: exchange.response.framing)
        buffer.consume(exchange.response.headLength)
        exchange.responseBody = ResponseBody(exchange.response.framing, dechunk: plan.dechunk)
        exchange.responseStarted = true
        return true
    }

    /// Writes our queued head and the upstream's body bytes to the client, in one writev where possible.
    /// Only once the final head was accepted (`responseStarted`).
    private func relayResponseBody(_ exchange: H1Exchange) -> FlushResult {
        if exchange.responsePipe != nil { return spliceResponseBody(exchange) }
        guard let from = exchange.fromUpstream else { return flushOutput(sent: &exchange.bytesToClient) }
        if case .chunked(var scanner, false) = exchange.responseBody.progress, let out = output {
            // A chunked body is copied into `output`: de-chunked for an HTTP/1.0 client, else re-framed
            // canonically. Feed no more than fits, flush, and go on until the held bytes are all taken
            // or the client blocks: stopping earlier would strand bytes that no epoll event will ever
            // come back for.
            let dechunk = exchange.responseBody.dechunk
            while true {
                out.compact()
                let room = dechunk ? out.writableCount : max(0, out.writableCount - ChunkedScanner.reframeSlack)
                let feed = UnsafeRawBufferPointer(rebasing: from.readable.prefix(room))
                var finished = false
                let result =
                    dechunk
                    ? scanner.decode(feed, payload: { out.append($0) })
                    : scanner.reframe(feed, emit: { out.append($0) })
                let consumed: Int
                switch result {
                case .needMore(let n): consumed = n
                case .done(let n):
                    consumed = n
                    finished = true
                case .error(let e):
                    failChunkedResponse(exchange, e)
                    return .upstreamFailed
                }
                exchange.mirror?.primaryBody(UnsafeRawBufferPointer(rebasing: feed.prefix(consumed)))
                from.consume(consumed)
                exchange.responseBody.progress = .chunked(scanner, done: finished)
                let flushed = flushOutput(sent: &exchange.bytesToClient)
                if flushed != .done || finished || from.isEmpty { return flushed }
            }
        }
        let pending = exchange.responseBody.pending
        switch exchange.responseBody.progress.classify(from.readable, alreadyPending: pending) {
        case .success(let n): exchange.responseBody.pending += n
        case .failure: return .failed
        }
        let head = output.map { $0.readable } ?? UnsafeRawBufferPointer(start: nil, count: 0)
        let body = UnsafeRawBufferPointer(rebasing: from.readable[0..<exchange.responseBody.pending])
        if head.count + body.count == 0 { return .done }
        guard writable else { return .blocked }
        do {
            let result = try transport.write(head, body, scratch: proxy.tlsRecordScratch)
            switch result {
            case .wouldBlock:
                writable = false
                return .blocked
            case .value(let n):
                let fromHead = min(n, head.count)
                output?.consume(fromHead)
                let fromBody = n - fromHead
                exchange.mirror?.primaryBody(UnsafeRawBufferPointer(rebasing: from.readable.prefix(fromBody)))
                from.consume(fromBody)
                exchange.responseBody.pending -= fromBody
                exchange.bytesToClient &+= UInt64(n)
                if n < head.count + body.count {
                    writable = false
                    return .blocked
                }
                return .done
            }
        } catch {
            return .failed
        }
    }

    /// The upstream's chunked body is malformed (or a chunk is larger than the proxy relays). If none of
    /// the response reached the client yet, it gets a 502 instead of the head queued for it.
    private func failChunkedResponse(_ exchange: H1Exchange, _ error: HTTPParseError) {
        if let up = exchange.upstream { proxy.log.warning("invalid chunked body from \(up.pool.configured): \(error)") }
        if exchange.bytesToClient == 0 {
            exchange.responseStarted = false
            output?.clear()
        }
        failUpstream(exchange, .invalidResponse)
    }

    // MARK: end of an exchange

    /// The whole response reached the client.
    private func finishExchange(_ exchange: H1Exchange) {
        guard let up = exchange.upstream else { return }
        let upstreamReusable = UpstreamReuse(
            responseKeepAlive: exchange.response.keepAlive, requestComplete: exchange.requestComplete,
            upstreamHungUp: up.hungUp, unreadResponseBytes: !(exchange.fromUpstream?.isEmpty ?? true),
            closeDelimited: exchange.responseBody.progress.isUntilClose
        ).allowed
        up.pool.recordResponse(status: exchange.response.status, now: proxy.loop.now)
        exchange.mirror?.primaryFinished(now: proxy.loop.now)
        exchange.recordOutcome(status: exchange.response.status, failure: nil, now: proxy.loop.now)
        releaseExchange(exchange, reuseUpstream: upstreamReusable)
        awaitNextRequest(after: exchange)
    }

    /// The exchange ended with its response complete: the connection closes, or waits for the next request.
    /// Inlined: a call here cost an HTTP/1.1 request a retain of the exchange (callgrind).
    @inline(__always)
    func awaitNextRequest(after exchange: H1Exchange) {
        if closeAfterResponse || !exchange.requestComplete {
            endAfterLastResponse(requestComplete: exchange.requestComplete)
            return
        }
        if let input, !input.isEmpty {
            // A pipelined request is already arriving: the exchange object stays to parse its head.
            exchange.startRequestHead(maxHeaderBytes: proxy.maxHeaderBytes, maxHeaderCount: proxy.maxHeaderCount)
            state = .awaitingHead(firstRequest: false, headTimed: true)
            proxy.headerDeadlines.arm(self, now: proxy.loop.now)
        } else {
            state = .awaitingHead(firstRequest: false, headTimed: false)
            proxy.loop.buffers.give(from: &input)
            if let b = output, b.isEmpty { proxy.loop.buffers.give(b); output = nil }
            giveExchangeBack()
            proxy.idleDeadlines.arm(self, now: proxy.loop.now)
        }
    }

    /// The upstream failed. Before any response byte: send the request again within its arm when that
    /// is safe (`FailedAttempt.mayRetry`), else answer with the failure's status. After: the client
    /// connection is cut.
    func failUpstream(_ exchange: H1Exchange, _ failure: ProxyFailure) {
        guard let up = exchange.upstream else { return }
        let attempt = AttemptFailure(
            failure: failure, connected: up.connected,
            responseBytesReceived: exchange.responseStarted || !(exchange.fromUpstream?.isEmpty ?? true),
            clientHasResponse: exchange.responseStarted || output?.isEmpty == false,
            replayable: BodyProgress(exchange.request.framing).isNone, method: exchange.request.method,
            retriesSoFar: exchange.attempts.retries)
        if attempt.countsAgainstEndpoint { up.pool.recordFailure(now: proxy.loop.now) }
        if let next = proxy.resend(
            attempt, failed: up, head: exchange.headOut, headLength: exchange.headOutLength,
            attempts: &exchange.attempts, shard: exchange.shard)
        {
            exchange.upstream = nil
            exchange.requestComplete = false
            // Another endpoint may have an idle connection; the failed one gets a fresh one.
            connectUpstream(exchange, pool: next, reuse: next !== up.pool)
            return
        }
        proxy.log.info("\(failure.status) \(failure.message) (\(up.pool.configured))")
        end(exchange, attempt.ending, failure)
    }

    /// A failed exchange ends: answered with the failure, or cut once the client has some of the response.
    func end(_ exchange: H1Exchange, _ ending: ExchangeEnding, _ failure: ProxyFailure) {
        switch ending {
        case .answer(let failure):
            respond(with: failure)
        case .cut:
            exchange.recordOutcome(status: ExchangeEnding.cutStatus, failure: failure.kind, now: proxy.loop.now)
            // A reset, not a FIN: the end of a close-delimited body would look complete.
            fd.setLingerZero()
            close()
        }
    }

    /// Fails the exchange before an upstream was bound.
    private func failExchange(_ failure: ProxyFailure) {
        proxy.log.info("\(failure.status) \(failure.message)")
        respond(with: failure)
    }

    /// The upstream's connect or response deadline passed.
    func exchangeDeadlinePassed() {
        guard case .exchanging(let handle) = state else { return }
        let exchange = handle.object
        guard let up = exchange.upstream else { return }
        let awaitingClientBody =
            !exchange.requestComplete && exchange.requestPending == 0 && (exchange.requestPipe?.held ?? 0) == 0 && !readable
        let blockedOnClient = exchange.responseStarted && !writable
        let silence = UpstreamSilence.judge(
            connected: up.connected, awaitingClientBody: awaitingClientBody, blockedOnClient: blockedOnClient)
        switch silence {
        case .client:
            proxy.responseDeadlines.arm(up, now: proxy.loop.now)
            if blockedOnClient && !hasDeadline { proxy.idleDeadlines.arm(self, now: proxy.loop.now) }
            if awaitingClientBody { updateRequestBodyWindow(exchange) }
        case .upstream(let failure):
            if silence.countsAgainstEndpoint { up.pool.recordFailure(now: proxy.loop.now) }
            failUpstream(exchange, failure)
            drive()
        }
    }
}

extension HTTPMethod {
    /// RFC 9110 §9.2.2: the methods whose intended effect is the same when sent twice (`FailedAttempt.mayRetry`).
    var isIdempotent: Bool {
        switch self {
        case .get, .head, .options, .put, .delete, .trace: return true
        case .post, .patch, .connect, .other: return false
        }
    }
}

extension BodyProgress {
    var isUntilClose: Bool {
        if case .untilClose = self { return true }
        return false
    }

    /// The message has no body at all.
    var isNone: Bool {
        if case .none = self { return true }
        return false
    }
}
