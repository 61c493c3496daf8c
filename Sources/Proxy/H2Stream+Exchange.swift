// An HTTP/2 stream relayed to an HTTP/1.1 upstream: the relay's data, and its exchange (head and body out, response head and DATA back).
import EventLoop
import HTTP
import HTTP2
import Telemetry

/// The data of one exchange with an HTTP/1.1 upstream, used while the stream's exchange is
/// `.relayingHTTP1`. Reused by the stream object's streams: `start` sets every field for the next
/// exchange (the parser's and the response head's storage keep their capacity), `release` gives the
/// buffers back.
final class H2HTTP1Relay {
    var upstream: UpstreamConnection?
    /// The request head as HTTP/1.1 bytes, and its length (a retry writes it again from the start).
    var headOut: ByteBuffer?
    var headOutLength = 0
    var fromUpstream: ByteBuffer?
    var parser: ResponseHeadParser
    var response = ResponseHead()
    /// The response head was submitted to the client's session.
    var headSubmitted = false
    var body = BodyProgress.none
    /// Response body bytes classified in `fromUpstream` and not yet handed to the session.
    var pending = 0
    /// The session asked for DATA and got `.deferred`: resume it when bytes arrive.
    var deferred = false
    /// An extended CONNECT's WebSocket (H2Stream+Tunnel.swift): how far it got, the key sent upstream
    /// (base64, 24 bytes, inline), and once tunnelling, the arm it counts on and since when.
    var tunnel = H2TunnelPhase.none
    var webSocketKey = WebSocketKey()
    var tunnelShard: ArmShard?
    var tunnelOpenedAt: UInt64 = 0
    /// The client's END_STREAM was passed on to the upstream as a shutdown of its write side.
    var upstreamWriteShut = false
    /// The request's copy to the canary, tapped with the primary's response; nil when not mirrored.
    var mirror: MirrorSlot?

    init(maxHeaderBytes: Int, maxHeaderCount: Int) {
        parser = ResponseHeadParser(maxHeaderBytes: maxHeaderBytes, maxHeaderCount: maxHeaderCount)
    }

    /// Ready for an exchange whose head is `headOut`, under the current limits.
    func start(headOut: ByteBuffer, length: Int, maxHeaderBytes: Int, maxHeaderCount: Int) {
        if parser.maxHeaderBytes != maxHeaderBytes || parser.maxHeaderCount != maxHeaderCount {
            // A reload changed the limits since this relay was made.
            parser = ResponseHeadParser(maxHeaderBytes: maxHeaderBytes, maxHeaderCount: maxHeaderCount)
        } else {
            parser.reset()
        }
        response.reset()
        self.headOut = headOut
        headOutLength = length
        headSubmitted = false
        body = .none
        pending = 0
        deferred = false
        tunnel = .none
        upstreamWriteShut = false
    }

    /// The exchange ended (the upstream connection was released by the stream): buffers back to `pool`.
    func release(pool: BufferPool) {
        upstream = nil
        if let mirror {
            self.mirror = nil
            mirror.primaryReleased()
        }
        pool.give(from: &headOut)
        pool.give(from: &fromUpstream)
    }
}

extension H2Stream {
    // MARK: start

    /// Writes the request as HTTP/1.1 and binds an upstream connection of the decision's pool (idle or fresh).
    /// `webSocketKey`: an extended CONNECT's WebSocket, sent as the HTTP/1.1 handshake (H2Stream+Tunnel.swift),
    /// never mirrored.
    func startHTTP1Exchange(_ decision: RouteDecision, source: UnsafeRawBufferPointer, webSocketKey: WebSocketKey? = nil) {
        request.progress.chunkedBody = !request.progress.ended && !request.fields.hasContentLength
        let out = proxy.loop.buffers.take()
        let connection = self.connection  // once: each read of the unowned(unsafe) property is a retain
        let written = connection.peerText.withUnsafeBytes { peer in
            if let webSocketKey { return writeWebSocketHandshake(webSocketKey, source: source, clientAddress: peer, into: out) }
            return request.writeHTTP1(source: source, clientAddress: peer, proto: connection.isTLS ? "https" : "http", into: out.writable)
        }
        guard let written else {
            proxy.loop.buffers.give(out)
            fail(.headTooLarge)
            return
        }
        out.commit(written)
        let relay = startRelayingHTTP1(headOut: out, length: written)
        if let webSocketKey {
            relay.tunnel = .awaitingSwitch
            relay.webSocketKey = webSocketKey
        } else if let mirror = decision.route.mirror {
            relay.mirror = startMirror(mirror, decision, source: source, head: out.readable)
        }
        proxy.loop.buffers.give(from: &request.scratch)
        // A WebSocket gets a fresh connection: its CONNECT cannot be resent, so an idle one the upstream
        // just closed would cost the client a 502, and a tunnel never goes back to the pool anyway.
        bind(relay, pool: decision.pool, reuse: webSocketKey == nil)
    }

    func bind(_ relay: H2HTTP1Relay, pool: UpstreamPool, reuse: Bool) {
        switch proxy.bindUpstream(pool: pool, reuse: reuse, owner: self) {
        case .success(let up): relay.upstream = up
        case .failure(let failure):
            if outcome != nil,
                let next = proxy.retryConnect(
                    after: failure, on: pool, method: request.fields.method, attempts: &outcome!.attempts, shard: outcome!.shard)
            {
                bind(relay, pool: next, reuse: false)
                return
            }
            // Nothing reached the client: it is answered with the failure (`ExchangeEnding`).
            end(with: failure, .answer(failure))
        }
    }

    // MARK: driving

    func upstreamEvent() {
        advance()
        proxy.markDirty(connection)
    }

    /// Makes the progress the upstream's readiness allows (outside the session's callbacks).
    func advanceHTTP1(_ relay: H2HTTP1Relay) {
        guard let up = relay.upstream else { return }
        if !up.connected {
            guard up.writable || up.hungUp else { return }
            if let failure = up.completeConnect() {
                failUpstream(relay, failure)
                return
            }
        }
        pumpRequest(relay, up)
        guard relay.upstream === up, !finished else { return }
        if relay.tunnel == .open { passOnClientEnd(relay, up) }
        if !relay.headSubmitted {
            readResponseHead(relay, up)
        } else if relay.deferred {
            relay.deferred = false
            session.resume(stream: id)
        }
    }

    /// Head and queued body to the upstream; written DATA bytes are acknowledged to the client.
    private func pumpRequest(_ relay: H2HTTP1Relay, _ up: UpstreamConnection) {
        while !request.progress.complete {
            let head = relay.headOut.map { $0.readable } ?? UnsafeRawBufferPointer(start: nil, count: 0)
            let chunk = request.body.front
            if head.count + chunk.count == 0 {
                if request.fullyQueuedOut { request.progress.complete = true }
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
                    relay.headOut?.consume(fromHead)
                    let fromBody = n - fromHead
                    if fromBody > 0 {
                        request.body.consumeFront(fromBody, pool: proxy.loop.buffers)
                        session.consume(stream: id, request.acknowledge(fromBody))
                    }
                    armUpstreamDeadline(relay, up)
                    if n < head.count + chunk.count {
                        up.writable = false
                        return
                    }
                }
            } catch {
                failUpstream(relay, .upstreamReset)
                return
            }
        }
    }

    /// Reads until a final response head is complete, then submits it (interim 1xx heads are dropped:
    /// the upstream request carries no Expect, and HTTP/2 clients do not need them).
    private func readResponseHead(_ relay: H2HTTP1Relay, _ up: UpstreamConnection) {
        while true {
            if let buffer = relay.fromUpstream, !buffer.isEmpty {
                switch relay.parser.parse(buffer.readable, requestMethod: request.fields.method, into: &relay.response) {
                case .complete:
                    if relay.response.status < 200 {
                        if relay.response.status == 101 {
                            // Only the switch a WebSocket asked for; any other is a broken upstream.
                            if relay.tunnel == .awaitingSwitch {
                                switchToTunnel(relay, buffer)
                            } else {
                                failUpstream(relay, .invalidResponse)
                            }
                            return
                        }
                        buffer.consume(relay.response.headLength)
                        relay.parser.reset()
                        relay.response.reset()
                        continue
                    }
                    submitHead(relay, buffer)
                    return
                case .error(let e):
                    proxy.log.warning("invalid response from \(up.pool.configured): \(e)")
                    failUpstream(relay, .invalidResponse)
                    return
                case .incomplete:
                    break
                }
            }
            guard up.readable else { return }
            let buffer = relay.fromUpstream ?? proxy.loop.buffers.take()
            relay.fromUpstream = buffer
            if buffer.writableCount == 0 { buffer.compact() }
            guard buffer.writableCount > 0 else {
                failUpstream(relay, .invalidResponse)
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
                    failUpstream(relay, .upstreamClosed)
                    return
                case .value(let n):
                    buffer.commit(n)
                    if n < space && !up.hungUp { up.readable = false }
                    proxy.responseDeadlines.arm(up, now: proxy.loop.now)
                }
            } catch {
                failUpstream(relay, .upstreamReset)
                return
            }
        }
    }

    /// The upstream's head as an HTTP/2 response: lower-case names, no connection-specific fields.
    private func submitHead(_ relay: H2HTTP1Relay, _ buffer: ByteBuffer) {
        addResponseFields(relay, buffer)
        relay.body = BodyProgress(relay.response.framing)
        let hasBody: Bool
        if case .none = relay.body { hasBody = false } else { hasBody = true }
        guard submitResponseHead(relay, buffer, status: relay.response.status, hasBody: hasBody) else { return }
        if !hasBody { responseCompleted(relay) }
    }

    /// Submits the fields added so far as the response head with `status`, and takes the upstream's
    /// head out of `buffer`; false when the session refused it (the upstream then failed).
    func submitResponseHead(_ relay: H2HTTP1Relay, _ buffer: ByteBuffer, status: Int, hasBody: Bool) -> Bool {
        if let armField { session.addField(name: armField.name, value: armField.value) }
        let cookies = cookie == nil ? nil : addAffinityCookies(session)
        defer { if let cookies { proxy.loop.buffers.give(cookies) } }
        do {
            try session.submitResponse(stream: id, status: status, hasBody: hasBody)
        } catch {
            failUpstream(relay, .invalidResponse)
            return false
        }
        bytesToClient &+= UInt64(relay.response.headLength)
        relay.mirror?.primaryHead(
            UnsafeRawBufferPointer(rebasing: buffer.readable.prefix(relay.response.headLength)), framing: relay.response.framing)
        buffer.consume(relay.response.headLength)
        relay.headSubmitted = true
        relay.pending = 0
        return true
    }

    /// The upstream head's end-to-end fields, added to the session for the next submit. `skip`: one
    /// more field left out (matched on its lower-cased name).
    func addResponseFields(_ relay: H2HTTP1Relay, _ buffer: ByteBuffer, skip: StaticString? = nil) {
        let bytes = buffer.readable
        let head = buffer.base + buffer.readerIndex
        let session = self.session  // once: every read of the unowned(unsafe) property is a retain
        let armField = self.armField
        let armNameCount = armField?.nameCount ?? -1  // -1 matches no name: one comparison per field while off
        for field in relay.response.headers where !field.isHopByHop {
            // HTTP/2 field names are lower-case (RFC 9113 §8.2.1); the buffer is ours to rewrite.
            ASCII.lowercase(head + field.name.lowerBound, count: field.name.count)
            if let skip, fieldNameIs(bytes.slice(field.name), skip) { continue }
            // The upstream's own arm field would pass for the proxy's (added at the submit).
            if field.name.count == armNameCount, let armField, armField.isNamed(bytes, field.name) { continue }
            session.addField(name: bytes.slice(field.name), value: bytes.slice(field.value))
        }
    }

    // MARK: response body

    /// Fills a DATA frame from the upstream's body (inside the session's send): what is buffered,
    /// else a read from the upstream socket; `.deferred` until its next readiness event.
    func readHTTP1Body(_ relay: H2HTTP1Relay, into out: UnsafeMutableRawBufferPointer) -> H2BodyRead {
        guard let from = relay.fromUpstream else { return .failed }
        while true {
            var n = 0
            if case .chunked(var scanner, false) = relay.body {
                let feed = UnsafeRawBufferPointer(rebasing: from.readable.prefix(out.count))
                var finished = false
                let result = scanner.decode(feed) { payload in
                    (out.baseAddress! + n).copyMemory(from: payload.baseAddress!, byteCount: payload.count)
                    n += payload.count
                }
                let consumed: Int
                switch result {
                case .needMore(let n): consumed = n
                case .done(let n):
                    consumed = n
                    finished = true
                case .error:
                    cutBody(.invalidResponse)
                    return .failed
                }
                relay.mirror?.primaryBody(UnsafeRawBufferPointer(rebasing: feed.prefix(consumed)))
                from.consume(consumed)
                relay.body = .chunked(scanner, done: finished)
            } else {
                switch relay.body.classify(from.readable, alreadyPending: relay.pending) {
                case .success(let more): relay.pending += more
                case .failure:
                    cutBody(.invalidResponse)
                    return .failed
                }
                n = min(relay.pending, out.count)
                if n > 0 {
                    out.baseAddress!.copyMemory(from: from.readable.baseAddress!, byteCount: n)
                    relay.mirror?.primaryBody(UnsafeRawBufferPointer(rebasing: from.readable.prefix(n)))
                    from.consume(n)
                    relay.pending -= n
                }
            }
            bytesToClient &+= UInt64(n)
            if n > 0 { connection.responseDataSent() }
            if relay.body.isFullyClassified && relay.pending == 0 {
                responseCompleted(relay)
                return .bytes(n, last: true)
            }
            if n > 0 { return .bytes(n, last: false) }
            switch readMoreBody(relay, from) {
            case .more: continue
            case .wait:
                relay.deferred = true
                return .deferred
            case .ended:
                responseCompleted(relay)
                return .bytes(0, last: true)
            case .failed(let failure):
                cutBody(failure)
                return .failed
            }
        }
    }

    private enum BodyRead { case more, wait, ended, failed(ProxyFailure) }

    private func readMoreBody(_ relay: H2HTTP1Relay, _ from: ByteBuffer) -> BodyRead {
        guard let up = relay.upstream, up.readable else { return .wait }
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
                if relay.body.isUntilClose {
                    relay.body = .none
                    return .ended
                }
                return .failed(.upstreamClosed)
            case .value(let n):
                from.commit(n)
                if n < space && !up.hungUp { up.readable = false }
                armUpstreamDeadline(relay, up)
                return .more
            }
        } catch {
            return .failed(.upstreamReset)
        }
    }

    /// The upstream failed mid-body (inside the session's send): the stream is reset by the session.
    private func cutBody(_ failure: ProxyFailure) {
        proxy.log.info("\(failure.status) \(failure.message) (HTTP/2 stream cut)")
        recordOutcome(status: ExchangeEnding.cutStatus, failure: failure.kind)
        endExchange(reuseUpstream: false)
    }

    /// The last response byte was handed to the session: the arm's outcome is final, and the upstream
    /// connection goes back to its pool if the exchange left it clean.
    private func responseCompleted(_ relay: H2HTTP1Relay) {
        relay.mirror?.primaryFinished(now: proxy.loop.now)
        recordOutcome(status: relay.response.status, failure: nil)
        guard let up = relay.upstream else { return }
        // A tunnel's switch was recorded at its 101, and its connection is never reused.
        let tunnelled = relay.tunnel == .open
        if !tunnelled { up.pool.recordResponse(status: relay.response.status, now: proxy.loop.now) }
        let reusable =
            !tunnelled
            && UpstreamReuse(
                responseKeepAlive: relay.response.keepAlive, requestComplete: request.progress.complete,
                upstreamHungUp: up.hungUp, unreadResponseBytes: !(relay.fromUpstream?.isEmpty ?? true),
                closeDelimited: relay.body.isUntilClose
            ).allowed
        // Answered before the whole body was sent: the upstream is done with it, the rest is dropped.
        if !request.progress.complete { dropRequestBody() }
        endExchange(reuseUpstream: reusable)
    }

    // MARK: failures

    /// Before any response byte: the request is sent again within its arm when that is safe
    /// (`FailedAttempt.mayRetry`); otherwise the stream gets the failure's status (or is reset once its
    /// head went out).
    func failUpstream(_ relay: H2HTTP1Relay, _ failure: ProxyFailure) {
        guard let up = relay.upstream else { return }
        let attempt = AttemptFailure(
            failure: failure, connected: up.connected,
            responseBytesReceived: relay.headSubmitted || !(relay.fromUpstream?.isEmpty ?? true),
            clientHasResponse: relay.headSubmitted,
            replayable: request.isBodiless,
            method: request.fields.method, retriesSoFar: outcome?.attempts.retries ?? 0)
        if attempt.countsAgainstEndpoint { up.pool.recordFailure(now: proxy.loop.now) }
        let shard = outcome?.shard
        if outcome != nil,
            let next = proxy.resend(
                attempt, failed: up, head: relay.headOut, headLength: relay.headOutLength,
                attempts: &outcome!.attempts, shard: shard)
        {
            relay.upstream = nil
            request.progress.complete = false
            // A fresh connection: its first readiness event drives the stream again (an idle one,
            // already writable, would bring none).
            bind(relay, pool: next, reuse: false)
            return
        }
        end(with: failure, attempt.ending)
    }

    func exchangeDeadlinePassed() {
        guard let relay = relayingHTTP1, let up = relay.upstream, !finished else { return }
        if relay.tunnel == .open {
            tunnelIdled()
            return
        }
        // Once the head went out, body bytes are read only when the session asks for them; if it has
        // not asked (`deferred` false), the client's window is what holds them up.
        // A WebSocket's client sends nothing before its 200: the wait for the 101 is the upstream's.
        let awaitingClientBody =
            relay.tunnel == .none && !request.progress.complete && !request.progress.ended && request.body.isEmpty
            && (relay.headOut?.isEmpty ?? true)
        let blockedOnClient = relay.headSubmitted && (!relay.deferred || !(relay.fromUpstream?.isEmpty ?? true))
        let silence = UpstreamSilence.judge(
            connected: up.connected, awaitingClientBody: awaitingClientBody, blockedOnClient: blockedOnClient)
        switch silence {
        case .client:
            proxy.responseDeadlines.arm(up, now: proxy.loop.now)
            connection.watchClient()
        case .upstream(let failure):
            if silence.countsAgainstEndpoint { up.pool.recordFailure(now: proxy.loop.now) }
            failUpstream(relay, failure)
            proxy.markDirty(connection)
        }
    }
}
