// An HTTP/2 stream's exchange with its HTTP/1.1 upstream: route and arm, head and body out, response head and DATA back.
import EventLoop
import HTTP
import HTTP2

extension H2Stream {
    // MARK: start

    func startExchange() {
        guard let scratch else { return }
        fields.finish()
        switch fields.problem {
        case .tooLarge?:
            respond(status: 431, message: "request header fields too large")
            return
        case .incomplete?:
            respond(status: 400, message: "request lacks :method or :path")
            return
        case nil:
            break
        }
        let source = UnsafeRawBufferPointer(start: scratch.base, count: fields.used)
        // The rules the HTTP/1.1 parser applies (CONNECT's 501 among them): the upstream sees the
        // request as an HTTP/1.1 request line and Host, so it must be one that parser accepts.
        if headProblem == nil, let target = fields.target {
            do { try rules.checkTarget(path: source.slice(target), method: fields.method) } catch { headProblem = error }
        }
        if let problem = headProblem {
            respond(status: problem.status, message: problem.reason)
            return
        }
        snapshot = proxy.snapshot
        let decision: RouteDecision
        switch fields.withView(source: source, { proxy.route($0, client: .http2) }) {
        case .refused(let failure):
            fail(failure)
            return
        case .routed(let routed):
            decision = routed
        }
        let pool = decision.pool
        shard = decision.shard
        requestStartedAt = proxy.loop.now
        slowMarked = false
        if pool.protocolKind == .h2 {
            startH2Exchange(pool: pool, source: source)
            return
        }
        chunkedBody = !requestEnded && !fields.hasContentLength
        let out = proxy.loop.buffers.take()
        let connection = self.connection  // once: each read of the unowned(unsafe) property is a retain
        let written = connection.peerText.withUnsafeBytes { peer in
            fields.writeHTTP1(source: source, clientAddress: peer, proto: connection.isTLS ? "https" : "http",
                              chunkedBody: chunkedBody, into: out.writable)
        }
        guard let written else {
            proxy.loop.buffers.give(out)
            fail(.headTooLarge)
            return
        }
        out.commit(written)
        headOut = out
        headOutLength = written
        proxy.loop.buffers.give(from: &self.scratch)
        bind(pool: pool, reuse: true)
    }

    private func bind(pool: UpstreamPool, reuse: Bool) {
        switch proxy.bindUpstream(pool: pool, reuse: reuse, owner: self) {
        case .success(let up): upstream = up
        case .failure(let failure):
            let attempt = AttemptFailure(failure: failure, connected: false, responseBytesReceived: false, clientHasResponse: false,
                                         replayable: false, method: fields.method, retriesSoFar: attempts.retries)
            if let candidate = attempt.retryCandidate, let next = proxy.retryTarget(for: candidate, on: pool, shard: shard) {
                attempts.retried()
                bind(pool: next, reuse: false)
                return
            }
            fail(failure)
        }
    }

    // MARK: driving

    func upstreamEvent() {
        advance()
        proxy.markDirty(connection)
    }

    /// Makes the progress the upstream's readiness allows (outside the session's callbacks).
    func advance() {
        guard !finished else { return }
        defer { updateRequestBodyWindow() }
        if acknowledgeLater > 0 {
            session.consume(stream: id, acknowledgeLater)
            acknowledgeLater = 0
        }
        if h2Upstream != nil { return }
        guard let up = upstream else { return }
        if !up.connected {
            guard up.writable || up.hungUp else { return }
            if let failure = up.completeConnect() {
                failUpstream(failure)
                return
            }
        }
        pumpRequest(up)
        guard upstream === up, !finished else { return }
        if !responseStarted {
            readResponseHead(up)
        } else if deferred {
            deferred = false
            session.resume(stream: id)
        }
    }

    /// Head and queued body to the upstream; written DATA bytes are acknowledged to the client.
    private func pumpRequest(_ up: UpstreamConnection) {
        while !requestComplete {
            let head = headOut.map { $0.readable } ?? UnsafeRawBufferPointer(start: nil, count: 0)
            let chunk = body.front
            if head.count + chunk.count == 0 {
                if requestEnded && body.isEmpty { requestComplete = true }
                return
            }
            guard up.writable else { return }
            do {
                switch try up.transport.write(head, chunk, scratch: proxy.tlsRecordScratch) {
                case .wouldBlock:
                    up.writable = false
                    return
                case .value(let n):
                    let fromHead = min(n, head.count)
                    headOut?.consume(fromHead)
                    let fromBody = n - fromHead
                    if fromBody > 0 {
                        body.consumeFront(fromBody, pool: proxy.loop.buffers)
                        // Chunk framing bytes are counted too: an early acknowledgement by a few bytes, never more than received.
                        let acknowledged = min(fromBody, unacknowledged)
                        unacknowledged -= acknowledged
                        session.consume(stream: id, acknowledged)
                    }
                    proxy.responseDeadlines.arm(up, now: proxy.loop.now)
                    if n < head.count + chunk.count {
                        up.writable = false
                        return
                    }
                }
            } catch {
                failUpstream(.upstreamReset)
                return
            }
        }
    }

    /// Reads until a final response head is complete, then submits it (interim 1xx heads are dropped:
    /// the upstream request carries no Expect, and HTTP/2 clients do not need them).
    private func readResponseHead(_ up: UpstreamConnection) {
        while true {
            if let buffer = fromUpstream, !buffer.isEmpty {
                switch responseParser.parse(buffer.readable, requestMethod: fields.method, into: &response) {
                case .complete:
                    if response.status < 200 {
                        if response.status == 101 {
                            failUpstream(.invalidResponse)
                            return
                        }
                        buffer.consume(response.headLength)
                        responseParser.reset()
                        response.reset()
                        continue
                    }
                    submitHead(buffer)
                    return
                case .error(let e):
                    proxy.log.warning("invalid response from \(up.pool.configured): \(e)")
                    failUpstream(.invalidResponse)
                    return
                case .incomplete:
                    break
                }
            }
            guard up.readable else { return }
            let buffer = fromUpstream ?? proxy.loop.buffers.take()
            fromUpstream = buffer
            if buffer.writableCount == 0 { buffer.compact() }
            guard buffer.writableCount > 0 else {
                failUpstream(.invalidResponse)
                return
            }
            let space = buffer.writableCount
            do {
                switch try up.transport.read(into: buffer.writable) {
                case .wouldBlock:
                    up.readable = false
                    return
                case .value(0):
                    up.readable = false
                    up.hungUp = true
                    failUpstream(.upstreamClosed)
                    return
                case .value(let n):
                    buffer.commit(n)
                    if n < space && !up.hungUp { up.readable = false }
                    proxy.responseDeadlines.arm(up, now: proxy.loop.now)
                }
            } catch {
                failUpstream(.upstreamReset)
                return
            }
        }
    }

    /// The upstream's head as an HTTP/2 response: lower-case names, no connection-specific fields.
    private func submitHead(_ buffer: ByteBuffer) {
        let bytes = buffer.readable
        let head = buffer.base + buffer.readerIndex
        let session = self.session  // once: every read of the unowned(unsafe) property is a retain
        for field in response.headers where !field.isHopByHop {
            // HTTP/2 field names are lower-case (RFC 9113 §8.2.1); the buffer is ours to rewrite.
            ASCII.lowercase(head + field.name.lowerBound, count: field.name.count)
            session.addField(name: bytes.slice(field.name), value: bytes.slice(field.value))
        }
        responseBody = BodyProgress(response.framing)
        let hasBody: Bool
        if case .none = responseBody { hasBody = false } else { hasBody = true }
        do {
            try session.submitResponse(stream: id, status: response.status, hasBody: hasBody)
        } catch {
            failUpstream(.invalidResponse)
            return
        }
        bytesToClient &+= UInt64(response.headLength)
        buffer.consume(response.headLength)
        responseStarted = true
        responsePending = 0
        if !hasBody { responseCompleted() }
    }

    // MARK: response body

    /// Fills a DATA frame from the upstream's body (inside the session's send): what is buffered,
    /// else a read from the upstream socket; `.deferred` until its next readiness event.
    func readBody(into out: UnsafeMutableRawBufferPointer) -> H2BodyRead {
        if let message = ownBody { return readOwnBody(message, into: out) }
        if upstreamHeadDelivered { return readUpstreamData(into: out) }
        guard let from = fromUpstream else { return .failed }
        while true {
            var n = 0
            if case .chunked(var scanner, false) = responseBody {
                let feed = UnsafeRawBufferPointer(rebasing: from.readable.prefix(out.count))
                var finished = false
                let result = scanner.decode(feed) { payload in
                    (out.baseAddress! + n).copyMemory(from: payload.baseAddress!, byteCount: payload.count)
                    n += payload.count
                }
                switch result {
                case .needMore(let consumed): from.consume(consumed)
                case .done(let consumed): from.consume(consumed); finished = true
                case .error:
                    cutBody(.invalidResponse)
                    return .failed
                }
                responseBody = .chunked(scanner, done: finished)
            } else {
                switch responseBody.classify(from.readable, alreadyPending: responsePending) {
                case .success(let more): responsePending += more
                case .failure:
                    cutBody(.invalidResponse)
                    return .failed
                }
                n = min(responsePending, out.count)
                if n > 0 {
                    out.baseAddress!.copyMemory(from: from.readable.baseAddress!, byteCount: n)
                    from.consume(n)
                    responsePending -= n
                }
            }
            bytesToClient &+= UInt64(n)
            if n > 0 { connection.responseDataSent() }
            if responseBody.isFullyClassified && responsePending == 0 {
                responseCompleted()
                return .bytes(n, last: true)
            }
            if n > 0 { return .bytes(n, last: false) }
            switch readMoreBody(from) {
            case .more: continue
            case .wait:
                deferred = true
                return .deferred
            case .ended:
                responseCompleted()
                return .bytes(0, last: true)
            case .failed(let failure):
                cutBody(failure)
                return .failed
            }
        }
    }

    private enum BodyRead { case more, wait, ended, failed(ProxyFailure) }

    private func readMoreBody(_ from: ByteBuffer) -> BodyRead {
        guard let up = upstream, up.readable else { return .wait }
        from.compact()
        guard from.writableCount > 0 else { return .wait }
        let space = from.writableCount
        do {
            switch try up.transport.read(into: from.writable) {
            case .wouldBlock:
                up.readable = false
                return .wait
            case .value(0):
                up.readable = false
                up.hungUp = true
                if responseBody.isUntilClose {
                    responseBody = .none
                    return .ended
                }
                return .failed(.upstreamClosed)
            case .value(let n):
                from.commit(n)
                if n < space && !up.hungUp { up.readable = false }
                proxy.responseDeadlines.arm(up, now: proxy.loop.now)
                return .more
            }
        } catch {
            return .failed(.upstreamReset)
        }
    }

    /// The upstream failed mid-body (inside the session's send): the stream is reset by the session.
    private func cutBody(_ failure: ProxyFailure) {
        proxy.log.info("\(failure.status) \(failure.message) (HTTP/2 stream cut)")
        recordOutcome(status: 502, failure: failure.kind)
        releaseExchange(reuseUpstream: false)
    }

    /// The last response byte was handed to the session: the arm's outcome is final, and the upstream
    /// connection goes back to its pool if the exchange left it clean.
    private func responseCompleted() {
        recordOutcome(status: response.status, failure: nil)
        guard let up = upstream else { return }
        up.pool.recordResponse(status: response.status, now: proxy.loop.now)
        let reusable = UpstreamReuse(responseKeepAlive: response.keepAlive, requestComplete: requestComplete, upstreamHungUp: up.hungUp,
                                     unreadResponseBytes: !(fromUpstream?.isEmpty ?? true), closeDelimited: responseBody.isUntilClose).allowed
        // Answered before the whole body was sent: the upstream is done with it, the rest is dropped.
        if !requestComplete { dropRequestBody() }
        releaseExchange(reuseUpstream: reusable)
    }

    // MARK: failures

    /// Before any response byte: the request is sent again within its arm when that is safe
    /// (`FailedAttempt.mayRetry`); otherwise the stream gets the failure's status (or is reset once its
    /// head went out).
    func failUpstream(_ failure: ProxyFailure) {
        guard let up = upstream else { return }
        let attempt = AttemptFailure(failure: failure, connected: up.connected,
                                     responseBytesReceived: responseStarted || !(fromUpstream?.isEmpty ?? true),
                                     clientHasResponse: responseStarted,
                                     replayable: requestEnded && body.isEmpty && !chunkedBody && !fields.hasContentLength,
                                     method: fields.method, retriesSoFar: attempts.retries)
        if attempt.countsAgainstEndpoint { up.pool.recordFailure(now: proxy.loop.now) }
        if let next = proxy.resend(attempt, failed: up, head: headOut, headLength: headOutLength, attempts: &attempts, shard: shard) {
            upstream = nil
            requestComplete = false
            // A fresh connection: its first readiness event drives the stream again (an idle one,
            // already writable, would bring none).
            bind(pool: next, reuse: false)
            return
        }
        fail(failure)
    }

    func exchangeDeadlinePassed() {
        guard let up = upstream, !finished else { return }
        // Once the head went out, body bytes are read only when the session asks for them; if it has
        // not asked (`deferred` false), the client's window is what holds them up.
        let silence = UpstreamSilence.judge(connected: up.connected,
                                            awaitingClientBody: !requestComplete && !requestEnded && body.isEmpty && (headOut?.isEmpty ?? true),
                                            blockedOnClient: responseStarted && (!deferred || !(fromUpstream?.isEmpty ?? true)))
        switch silence {
        case .client:
            proxy.responseDeadlines.arm(up, now: proxy.loop.now)
            connection.watchClient()
        case .upstream(let failure):
            if silence.countsAgainstEndpoint { up.pool.recordFailure(now: proxy.loop.now) }
            failUpstream(failure)
            proxy.markDirty(connection)
        }
    }
}
