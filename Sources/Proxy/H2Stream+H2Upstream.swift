// An HTTP/2 stream relayed as a stream of a multiplexed HTTP/2 upstream: the relay's data, fields, DATA both ways, trailers intact (gRPC).
import EventLoop
import HTTP
import HTTP2

/// The data of one exchange with an HTTP/2 upstream, used while the stream's exchange is
/// `.relayingHTTP2`. Reused by the stream object's streams: `start` sets every field for the next
/// exchange, `release` gives the buffers back.
final class H2HTTP2Relay {
    /// The upstream connection carrying the stream; nil once the stream is done with it, or it was lost
    /// (the response may still be going out from `data`).
    var connection: H2UpstreamConnection?
    var streamID: Int32 = 0
    /// The endpoint's pool, for a resend of a refused stream.
    var pool: UpstreamPool?
    /// Response fields (head, then trailers) copied out of the upstream session's callbacks.
    var fields = H2ResponseFields()
    /// The response head was submitted to the client's session.
    var headDelivered = false
    /// The stored fields are trailers, sent after the last DATA.
    var trailersStored = false
    /// The upstream ended its response.
    var upstreamFinished = false
    /// Response DATA from the upstream, waiting for the client's window.
    var data = BufferQueue()
    /// The upstream session asked for request body and got `.deferred`.
    var requestDeferred = false
    /// The client's session asked for DATA and got `.deferred`.
    var deferred = false
    /// Request body bytes the upstream session took, kept until the response head for a resend.
    var replay: ByteBuffer?
    /// The body sent so far fits `replay`: a refused stream can be sent again.
    var replayable = true
    /// The stream was sent again once already.
    var retried = false

    /// Ready for an exchange with an endpoint of `pool`.
    func start(pool: UpstreamPool) {
        connection = nil
        streamID = 0
        self.pool = pool
        fields.restart()
        headDelivered = false
        trailersStored = false
        upstreamFinished = false
        requestDeferred = false
        deferred = false
        replayable = true
        retried = false
    }

    /// The exchange ended (the upstream stream was abandoned by the stream): buffers back to `pool`.
    func release(pool buffers: BufferPool) {
        connection = nil
        pool = nil
        fields.release(pool: buffers)
        data.release(pool: buffers)
        buffers.give(from: &replay)
    }
}

extension H2Stream {
    // MARK: start

    func startHTTP2Exchange(pool: UpstreamPool, source: UnsafeRawBufferPointer) {
        request.progress.chunkedBody = false
        open(startRelayingHTTP2(pool: pool), on: pool, source: source)
    }

    /// Opens the upstream stream: the request's fields, with the forwarding fields composed.
    private func open(_ relay: H2HTTP2Relay, on pool: UpstreamPool, source: UnsafeRawBufferPointer) {
        let conn: H2UpstreamConnection
        do { conn = try proxy.h2Connection(for: pool) } catch {
            fail(error)
            return
        }
        // Room for the composed X-Forwarded-For; the session copies every field at the submit.
        let storage = proxy.loop.buffers.take()
        defer { proxy.loop.buffers.give(storage) }
        let composed = connection.peerText.withUnsafeBytes { peer in
            request.fields.forEachHTTP2Field(
                source: source, clientAddress: peer, proto: connection.isTLS ? "https" : "http",
                scheme: pool.tls == nil ? "http" : "https", storage: storage.writable,
                startTrace: request.progress.startTrace
            ) { name, value in
                conn.session.addField(name: name, value: value)
            }
        }
        guard composed else {
            conn.session.discardFields()
            fail(.headTooLarge)
            return
        }
        do {
            relay.streamID = try conn.open(self, hasBody: !request.progress.ended || !request.body.isEmpty)
        } catch {
            proxy.log.warning("HTTP/2 upstream \(pool.configured): \(error)")
            fail(.upstreamReset)
            return
        }
        relay.connection = conn
        // The fields (`scratch`) and the body bytes sent (`replay`) are kept until the response head
        // arrives: a stream the upstream refused unprocessed is sent again (see upstreamStreamClosed).
        proxy.responseDeadlines.arm(self, now: proxy.loop.now)
    }

    /// The upstream refused the stream without processing it (REFUSED_STREAM, or above the last
    /// stream id of its GOAWAY, RFC 9113 §8.7): safe to send again, once, on another stream.
    private func retryRefusedStream(_ relay: H2HTTP2Relay) -> Bool {
        guard !relay.retried, relay.replayable, !relay.headDelivered, let pool = relay.pool, !pool.retired,
            let scratch = request.scratch
        else { return false }
        relay.retried = true
        relay.connection = nil
        if let r = relay.replay, !r.isEmpty {
            request.body.prepend(r)
            relay.replay = nil
        }
        request.progress.complete = false
        relay.requestDeferred = false
        open(relay, on: pool, source: UnsafeRawBufferPointer(start: scratch.base, count: request.fields.used))
        return true
    }

    /// The response head arrived: no resend can happen any more.
    private func forgetReplay(_ relay: H2HTTP2Relay) {
        proxy.loop.buffers.give(from: &request.scratch)
        proxy.loop.buffers.give(from: &relay.replay)
        relay.replayable = false
    }

    /// Request body arrived or ended while the upstream session waits for it.
    func wakeUpstreamBody(_ relay: H2HTTP2Relay) {
        guard relay.requestDeferred, let conn = relay.connection else { return }
        relay.requestDeferred = false
        conn.session.resume(stream: relay.streamID)
        proxy.markDirty(conn)
    }

    // MARK: request body (inside the upstream session's send)

    func readRequestBody(into out: UnsafeMutableRawBufferPointer) -> H2BodyRead {
        guard let relay = relayingHTTP2 else { return .failed }
        let n = request.body.take(into: out, pool: proxy.loop.buffers)
        if n > 0 && relay.replayable {
            // Kept for a resend while it fits one buffer; a longer body is not resent.
            let kept = relay.replay ?? proxy.loop.buffers.take()
            if kept.append(UnsafeRawBufferPointer(start: out.baseAddress, count: n)) {
                relay.replay = kept
            } else {
                proxy.loop.buffers.give(kept)
                relay.replay = nil
                relay.replayable = false
            }
        }
        if n > 0 {
            // The upload is moving: the upstream is not silent.
            proxy.responseDeadlines.arm(self, now: proxy.loop.now)
            session.consume(stream: id, request.acknowledge(n))
            updateRequestBodyWindow()
            proxy.markDirty(connection)
        }
        if request.fullyQueuedOut {
            request.progress.complete = true
            return .bytes(n, last: true)
        }
        if n > 0 { return .bytes(n, last: false) }
        relay.requestDeferred = true
        return .deferred
    }

    // MARK: response (inside the upstream session's receive)

    func upstreamField(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        relayingHTTP2?.fields.add(name: name, value: value, pool: proxy.loop.buffers)
    }

    func upstreamHeadersEnded(endStream: Bool) {
        guard !finished, let relay = relayingHTTP2 else { return }
        proxy.responseDeadlines.arm(self, now: proxy.loop.now)
        if relay.headDelivered {
            // Trailers: kept until the last DATA went to the client.
            relay.trailersStored = true
            if endStream { upstreamEnded() }
            return
        }
        if relay.fields.isInvalid {
            relay.fields.clear()
            fail(.invalidResponse)
            return
        }
        if relay.fields.status < 200 {
            // Interim heads (100, 103) are dropped, as for HTTP/1.1 upstreams.
            relay.fields.clear(keepingStatus: false)
            return
        }
        if submitUpstreamHead(relay, hasBody: !endStream) && endStream {
            relay.upstreamFinished = true
            upstreamResponseCompleted(relay)
        }
        proxy.markDirty(connection)
    }

    /// True once the head went to the client's session (else the stream was answered with a 502).
    private func submitUpstreamHead(_ relay: H2HTTP2Relay, hasBody: Bool) -> Bool {
        let session = self.session  // once: every read of the unowned(unsafe) property is a retain
        let armField = self.armField
        guard
            relay.fields.take({ name, value in
                if let armField, armField.isNamed(name) { return }
                session.addField(name: name, value: value)
            })
        else { return false }
        if let armField { session.addField(name: armField.name, value: armField.value) }
        let cookies = cookie == nil ? nil : addAffinityCookies(session)
        defer { if let cookies { proxy.loop.buffers.give(cookies) } }
        do {
            try session.submitResponse(stream: id, status: relay.fields.status, hasBody: hasBody)
        } catch {
            session.discardFields()
            fail(.invalidResponse)
            return false
        }
        relay.headDelivered = true
        forgetReplay(relay)
        return true
    }

    func upstreamData(_ bytes: UnsafeRawBufferPointer) {
        guard !finished, let relay = relayingHTTP2 else { return }
        relay.data.append(bytes, pool: proxy.loop.buffers)
        proxy.responseDeadlines.arm(self, now: proxy.loop.now)
        wakeDownstream(relay)
    }

    func upstreamEnded() {
        guard let relay = relayingHTTP2 else { return }
        relay.upstreamFinished = true
        wakeDownstream(relay)
    }

    private func wakeDownstream(_ relay: H2HTTP2Relay) {
        if relay.deferred {
            relay.deferred = false
            session.resume(stream: id)
        }
        proxy.markDirty(connection)
    }

    /// The upstream closed its stream: normal after the response; before it, a reset.
    func upstreamStreamClosed(errorCode: UInt32) {
        guard !finished, let relay = relayingHTTP2 else { return }
        if !relay.upstreamFinished {
            if errorCode == H2ErrorCode.refusedStream.rawValue && retryRefusedStream(relay) { return }
            upstreamLost(.upstreamReset)
        } else if !request.progress.complete {
            // Answered before the request body was all sent: the rest is dropped.
            dropRequestBody()
        }
    }

    /// The upstream connection or stream failed before the response ended.
    func upstreamLost(_ failure: ProxyFailure) {
        guard let relay = relayingHTTP2 else { return }
        relay.connection = nil
        guard !finished else { return }
        if relay.upstreamFinished {
            // The whole response is here (an early answer, then the upstream closed): it still goes
            // to the client; only the request body has nowhere to go.
            if !request.progress.complete { dropRequestBody() }
            return
        }
        cancelDeadline()
        fail(failure)
        proxy.markDirty(connection)
    }

    // MARK: response DATA (inside the downstream session's send)

    func readUpstreamData(_ relay: H2HTTP2Relay, into out: UnsafeMutableRawBufferPointer) -> H2BodyRead {
        let n = relay.data.take(into: out, pool: proxy.loop.buffers)
        bytesToClient &+= UInt64(n)
        if n > 0 { connection.responseDataSent() }
        if n > 0, let conn = relay.connection {
            conn.session.consume(stream: relay.streamID, n)
            proxy.markDirty(conn)
        }
        if relay.data.isEmpty && relay.upstreamFinished {
            let trailers = relay.trailersStored && submitUpstreamTrailers(relay)
            upstreamResponseCompleted(relay)
            return .bytes(n, last: true, trailers: trailers)
        }
        if n > 0 { return .bytes(n, last: false) }
        relay.deferred = true
        return .deferred
    }

    /// Sends the stored trailers after the last DATA (from within the DATA source call, which nghttp2 allows).
    private func submitUpstreamTrailers(_ relay: H2HTTP2Relay) -> Bool {
        let session = self.session
        guard relay.fields.take({ session.addField(name: $0, value: $1) }) else { return false }
        do {
            try session.submitTrailers(stream: id)
            return true
        } catch {
            session.discardFields()
            return false
        }
    }

    /// The whole response went to the session: the outcome is final (gRPC failures by grpc-status).
    private func upstreamResponseCompleted(_ relay: H2HTTP2Relay) {
        recordOutcome(status: relay.fields.status, failure: relay.fields.failedGRPC ? .grpcError : nil)
        cancelDeadline()
        if !request.progress.complete { dropRequestBody() }
        if let conn = relay.connection {
            // Still sending the request body: the upstream stream is cancelled, it answered already.
            relay.connection = nil
            conn.abandon(relay.streamID, cancel: !request.progress.complete)
        }
        endExchange(reuseUpstream: false)
    }

    // MARK: deadline

    /// The response deadline of a stream relayed to an HTTP/2 upstream (armed on the stream itself).
    func h2UpstreamDeadlinePassed() {
        guard !finished, let relay = relayingHTTP2 else { return }
        // `connected`: the upstream connection's connect and handshake have a deadline of their own
        // (H2UpstreamConnection), whose expiry fails its streams; this one is the response's.
        let silence = UpstreamSilence.judge(
            connected: true,
            awaitingClientBody: !request.progress.ended && request.body.isEmpty && relay.requestDeferred,
            blockedOnClient: !relay.data.isEmpty || (relay.headDelivered && !relay.deferred))
        switch silence {
        case .client:
            proxy.responseDeadlines.arm(self, now: proxy.loop.now)
            connection.watchClient()
        case .upstream(let failure):
            guard let conn = relay.connection else { return }
            proxy.log.info("\(failure.status) \(failure.message) (\(conn.pool.configured))")
            fail(failure)
            proxy.markDirty(connection)
        }
    }
}
