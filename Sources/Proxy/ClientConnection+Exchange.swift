// The exchange of one request: route and arm choice, upstream connect, streaming both ways with back-pressure, failures.
import EventLoop
import HTTP
import Telemetry

extension ClientConnection {
    // MARK: start

    func startExchange() {
        cancelDeadline()
        requestBodyWindow = nil
        requestBodyRead = 0
        responseStarted = false
        snapshot = proxy.snapshot
        if startBufferingBody() { return }
        beginExchange()
    }

    /// Routes the request, picks its arm and connects upstream (after its body was buffered, if it was).
    func beginExchange() {
        cancelDeadline()
        requestBodyWindow = nil
        guard let input else { return }
        let bytes = input.readable
        let decision: RouteDecision
        switch request.withView(source: bytes, { proxy.route($0, client: .http1) }) {
        case .refused(let failure):
            consumeRequestHeadAndRespond(failure)
            return
        case .routed(let routed):
            decision = routed
        }
        shard = decision.shard
        requestStartedAt = proxy.loop.now
        slowMarked = false
        bytesFromClient = UInt64(request.headLength)
        bytesToClient = 0

        // Rewrite the head for the upstream, then drop it from `input`: what follows is body or the next request.
        let out = proxy.loop.buffers.take()
        let written = peerText.withUnsafeBytes { peer in
            HeadWriter.writeRequest(request, source: bytes, clientAddress: peer, proto: transport.isTLS ? "https" : "http", into: out.writable)
        }
        guard let written else {
            proxy.loop.buffers.give(out)
            consumeRequestHeadAndRespond(.headTooLarge)
            return
        }
        out.commit(written)
        headOut = out
        headOutLength = written
        input.consume(request.headLength)
        requestBody = BodyProgress(request.framing)
        requestPending = 0
        requestComplete = false
        attempts = AttemptLog()
        responseStarted = false
        responsePending = 0
        dechunk = false
        closeAfterResponse = closeAfterResponse || !request.keepAlive || peerHungUp || proxy.draining
        state = .exchanging
        if response.headers.capacity == 0 { response.headers = proxy.takeHeaderArray() }
        connectUpstream(pool: decision.pool, reuse: true)
    }

    /// A request we answer ourselves: its body (if any) is unread, so the connection closes afterwards.
    private func consumeRequestHeadAndRespond(_ failure: ProxyFailure) {
        input?.consume(request.headLength)
        respond(with: failure)
    }

    /// Binds an idle pooled connection, or starts a non-blocking connect (a connect that fails at once
    /// is retried within the arm, as one that fails later is).
    private func connectUpstream(pool: UpstreamPool, reuse: Bool) {
        switch proxy.bindUpstream(pool: pool, reuse: reuse, owner: self) {
        case .success(let up): upstream = up
        case .failure(let failure):
            let attempt = AttemptFailure(failure: failure, connected: false, responseBytesReceived: false, clientHasResponse: false,
                                         replayable: false, method: request.method, retriesSoFar: attempts.retries)
            if let candidate = attempt.retryCandidate, let next = proxy.retryTarget(for: candidate, on: pool, shard: shard) {
                attempts.retried()
                connectUpstream(pool: next, reuse: next !== pool)
                return
            }
            failExchange(failure)
        }
    }

    // MARK: relay

    func stepExchange() -> Bool {
        guard let up = upstream else { return false }
        if !up.connected {
            guard up.writable || up.hungUp else { return false }
            if let failure = up.completeConnect() {
                failUpstream(failure)
                return true
            }
        }
        let sent = pumpRequest(up)
        // A failure may have ended the exchange, or a retry bound a fresh connection in place of `up`.
        if state != .exchanging || upstream !== up { return true }
        let received = pumpResponse(up)
        return sent || received
    }

    /// Client → upstream: the rewritten head, then body bytes as they arrive. Reads from the client only
    /// when everything read so far has been handed to the upstream (back-pressure).
    private func pumpRequest(_ up: UpstreamConnection) -> Bool {
        if requestComplete { return false }
        var progressed = false
        if let input, let error = takeRequestBody(from: input) {
            // A malformed body is the client's fault: not counted against the arm.
            recordOutcome(status: nil, failure: nil)
            if responseStarted { close() } else { respond(status: error.status, message: error.reason) }
            return true
        }
        let head = headOut.map { $0.readable } ?? UnsafeRawBufferPointer(start: nil, count: 0)
        let bodySource = reframed ?? input
        let body = bodySource.map { UnsafeRawBufferPointer(rebasing: $0.readable[0..<requestPending]) } ?? UnsafeRawBufferPointer(start: nil, count: 0)
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
                    headOut?.consume(fromHead)
                    let fromBody = n - fromHead
                    if fromBody > 0 {
                        bodySource!.consume(fromBody)
                        requestPending -= fromBody
                        // Re-framed bytes were counted as they were taken from `input`.
                        if reframed == nil { bytesFromClient &+= UInt64(fromBody) }
                    }
                    if n < head.count + body.count { up.writable = false }
                    progressed = n > 0
                    proxy.responseDeadlines.arm(up, now: proxy.loop.now)
                }
            } catch {
                failUpstream(.upstreamReset)
                return true
            }
        }
        let headSent = headOut.map { $0.isEmpty } ?? true
        if headSent && requestPending == 0 && requestBody.isFullyClassified {
            requestComplete = true
            return true
        }
        // Need more body from the client.
        if requestPending == 0 && readable && !requestBody.isFullyClassified {
            let buffer = input ?? proxy.loop.buffers.take()
            input = buffer
            if buffer.writableCount == 0 { buffer.compact() }
            let space = buffer.writableCount
            do {
                switch try transport.read(into: buffer.writable) {
                case .wouldBlock:
                    readable = false
                case .value(0):
                    // The client went away in the middle of its body: not the upstream's fault.
                    proxy.log.debug("client closed during request body")
                    close()
                    return true
                case .value(let n):
                    buffer.commit(n)
                    requestBodyRead &+= UInt64(n)
                    if n < space && !peerHungUp { readable = false }
                    progressed = true
                }
            } catch {
                close()
                return true
            }
        }
        return progressed
    }

    /// Makes the body bytes that arrived in `input` ready for the upstream (`requestPending`): a length
    /// or close-delimited body is sent from `input` as it is, a chunked one re-framed into `reframed`.
    private func takeRequestBody(from input: ByteBuffer) -> HTTPParseError? {
        guard case .chunked(var scanner, false) = requestBody else {
            switch requestBody.classify(input.readable, alreadyPending: requestPending) {
            case .success(let n): requestPending += n
            case .failure(let e): return e
            }
            return nil
        }
        let out = reframed ?? proxy.loop.buffers.take()
        reframed = out
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
        bytesFromClient &+= UInt64(consumed)
        requestBody = .chunked(scanner, done: finished)
        requestPending = out.readableCount
        return nil
    }

    /// Upstream → client: response heads (1xx relayed, then the final one), then the body by its framing.
    private func pumpResponse(_ up: UpstreamConnection) -> Bool {
        var progressed = false
        if !responseStarted, let buffer = fromUpstream, !buffer.isEmpty {
            switch responseParser.parse(buffer.readable, requestMethod: request.method, into: &response) {
            case .complete:
                if !acceptResponseHead(buffer) { return true }
                // After an interim head the final one may already be in the buffer: parse again
                // before reading (a read could meet the upstream's close and fail the exchange).
                if !responseStarted { return true }
                progressed = true
            case .error(let e):
                proxy.log.warning("invalid response from \(up.pool.configured): \(e)")
                failUpstream(.invalidResponse)
                return true
            case .incomplete:
                break
            }
        }
        let sentBefore = bytesToClient
        let flushed = responseStarted ? relayResponseBody() : flushOutput()
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
            if !hasDeadline || bytesToClient != sentBefore || requestBodyWindow != nil {
                requestBodyWindow = nil
                proxy.idleDeadlines.arm(self, now: proxy.loop.now)
            }
        case .done:
            // Nothing to write: the idle deadline is done with, a request-body window runs on.
            if requestBodyWindow == nil { cancelDeadline() }
            if responseStarted && responseBody.isFullyClassified && responsePending == 0 {
                finishExchange()
                return true
            }
        }
        // Need more from the upstream.
        guard up.readable else { return progressed }
        let buffer = fromUpstream ?? proxy.loop.buffers.take()
        fromUpstream = buffer
        if buffer.writableCount == 0 { buffer.compact() }
        guard buffer.writableCount > 0 else {
            if responseStarted { return progressed }  // wait for the client to take what we hold
            failUpstream(.invalidResponse)  // a response head larger than the buffer
            return true
        }
        let space = buffer.writableCount
        do {
            switch try up.transport.read(into: buffer.writable) {
            case .wouldBlock:
                up.readable = false
                return progressed
            case .value(0):
                up.readable = false
                up.hungUp = true
                if responseStarted, responseBody.isUntilClose {
                    // A close-delimited body ends here.
                    responseBody = .none
                    closeAfterResponse = true
                    return true
                }
                failUpstream(.upstreamClosed)
                return true
            case .value(let n):
                buffer.commit(n)
                if n < space && !up.hungUp { up.readable = false }
                proxy.responseDeadlines.arm(up, now: proxy.loop.now)
                return true
            }
        } catch {
            failUpstream(.upstreamReset)
            return true
        }
    }

    /// Handles a complete response head in `buffer`; false when the exchange ended (failure).
    private func acceptResponseHead(_ buffer: ByteBuffer) -> Bool {
        let out = output ?? proxy.loop.buffers.take()
        output = out
        if response.status < 200 {
            if response.status == 101 {
                // We never forward Upgrade, so a switch of protocols is a broken upstream.
                failUpstream(.invalidResponse)
                return false
            }
            // Interim responses (100 Continue, 103 Early Hints) are relayed and the final head is
            // awaited; never to an HTTP/1.0 client, which cannot tell them from the final response
            // (RFC 9110 §15.2).
            if request.versionMinor != 0,
               let n = HeadWriter.writeResponse(response, source: buffer.readable, chunked: false, connection: .none, into: out.writable) {
                out.commit(n)
            }
            buffer.consume(response.headLength)
            responseParser.reset()
            response.reset()
            return true
        }
        let clientIsHTTP10 = request.versionMinor == 0
        dechunk = clientIsHTTP10 && response.framing == .chunked
        if case .untilClose = response.framing { closeAfterResponse = true }
        if dechunk { closeAfterResponse = true }
        let directive: ConnectionDirective = closeAfterResponse ? .close : (clientIsHTTP10 ? .keepAlive : .none)
        guard let n = HeadWriter.writeResponse(response, source: buffer.readable, chunked: response.framing == .chunked && !dechunk,
                                               connection: directive, into: out.writable) else {
            failUpstream(.invalidResponse)
            return false
        }
        out.commit(n)
        buffer.consume(response.headLength)
        responseBody = BodyProgress(response.framing)
        responsePending = 0
        responseStarted = true
        return true
    }

    /// Writes our queued head and the upstream's body bytes to the client, in one writev where possible.
    private func relayResponseBody() -> FlushResult {
        guard let from = fromUpstream else { return flushOutput() }
        if case .chunked(var scanner, false) = responseBody, let out = output {
            // A chunked body is copied into `output`: de-chunked for an HTTP/1.0 client, else re-framed
            // canonically. Feed no more than fits, flush, and go on until the held bytes are all taken
            // or the client blocks: stopping earlier would strand bytes that no epoll event will ever
            // come back for.
            while true {
                out.compact()
                let room = dechunk ? out.writableCount : max(0, out.writableCount - ChunkedScanner.reframeSlack)
                let feed = UnsafeRawBufferPointer(rebasing: from.readable.prefix(room))
                var finished = false
                let result = dechunk ? scanner.decode(feed, payload: { out.append($0) })
                                     : scanner.reframe(feed, emit: { out.append($0) })
                switch result {
                case .needMore(let consumed): from.consume(consumed)
                case .done(let consumed): from.consume(consumed); finished = true
                case .error(let e):
                    failChunkedResponse(e)
                    return .upstreamFailed
                }
                responseBody = .chunked(scanner, done: finished)
                let flushed = flushOutput()
                if flushed != .done || finished || from.isEmpty { return flushed }
            }
        }
        switch responseBody.classify(from.readable, alreadyPending: responsePending) {
        case .success(let n): responsePending += n
        case .failure: return .failed
        }
        let head = output.map { $0.readable } ?? UnsafeRawBufferPointer(start: nil, count: 0)
        let body = UnsafeRawBufferPointer(rebasing: from.readable[0..<responsePending])
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
                from.consume(fromBody)
                responsePending -= fromBody
                bytesToClient &+= UInt64(n)
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
    private func failChunkedResponse(_ error: HTTPParseError) {
        if let up = upstream { proxy.log.warning("invalid chunked body from \(up.pool.configured): \(error)") }
        if bytesToClient == 0 {
            responseStarted = false
            output?.clear()
        }
        failUpstream(.invalidResponse)
    }

    // MARK: end of an exchange

    private func finishExchange() {
        guard let up = upstream else { return }
        let upstreamReusable = UpstreamReuse(responseKeepAlive: response.keepAlive, requestComplete: requestComplete, upstreamHungUp: up.hungUp,
                                             unreadResponseBytes: !(fromUpstream?.isEmpty ?? true), closeDelimited: responseBody.isUntilClose).allowed
        up.pool.recordResponse(status: response.status, now: proxy.loop.now)
        recordOutcome(status: response.status, failure: nil)
        releaseExchange(reuseUpstream: upstreamReusable)
        if closeAfterResponse || !requestComplete {
            transport.shutdownWrite()
            close()
            return
        }
        parser.reset()
        request.reset()
        state = .awaitingHead
        if let input, !input.isEmpty {
            headStarted = true
            proxy.headerDeadlines.arm(self, now: proxy.loop.now)
        } else {
            headStarted = false
            proxy.loop.buffers.give(from: &input)
            if let b = output, b.isEmpty { proxy.loop.buffers.give(b); output = nil }
            proxy.recycle(&request.headers)
            proxy.recycle(&response.headers)
            proxy.idleDeadlines.arm(self, now: proxy.loop.now)
        }
    }

    /// The upstream failed. Before any response byte: send the request again within its arm when that
    /// is safe (`FailedAttempt.mayRetry`), else answer with the failure's status. After: the client
    /// connection is cut.
    func failUpstream(_ failure: ProxyFailure) {
        guard let up = upstream else { return }
        let attempt = AttemptFailure(failure: failure, connected: up.connected,
                                     responseBytesReceived: responseStarted || !(fromUpstream?.isEmpty ?? true),
                                     clientHasResponse: responseStarted || output?.isEmpty == false,
                                     replayable: BodyProgress(request.framing).isNone, method: request.method, retriesSoFar: attempts.retries)
        if attempt.countsAgainstEndpoint { up.pool.recordFailure(now: proxy.loop.now) }
        if let next = proxy.resend(attempt, failed: up, head: headOut, headLength: headOutLength, attempts: &attempts, shard: shard) {
            upstream = nil
            requestComplete = false
            // Another endpoint may have an idle connection; the failed one gets a fresh one.
            connectUpstream(pool: next, reuse: next !== up.pool)
            return
        }
        proxy.log.info("\(failure.status) \(failure.message) (\(up.pool.configured))")
        switch attempt.ending {
        case .answer(let failure):
            respond(with: failure)
        case .cut:
            recordOutcome(status: ExchangeEnding.cutStatus, failure: failure.kind)
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
        guard let up = upstream else { return }
        let awaitingClientBody = !requestComplete && requestPending == 0 && !readable
        let blockedOnClient = responseStarted && !writable
        let silence = UpstreamSilence.judge(connected: up.connected, awaitingClientBody: awaitingClientBody, blockedOnClient: blockedOnClient)
        switch silence {
        case .client:
            proxy.responseDeadlines.arm(up, now: proxy.loop.now)
            if blockedOnClient && !hasDeadline { proxy.idleDeadlines.arm(self, now: proxy.loop.now) }
            if awaitingClientBody { updateRequestBodyWindow() }
        case .upstream(let failure):
            if silence.countsAgainstEndpoint { up.pool.recordFailure(now: proxy.loop.now) }
            failUpstream(failure)
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
