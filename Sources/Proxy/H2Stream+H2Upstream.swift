// An HTTP/2 stream relayed as a stream of a multiplexed HTTP/2 upstream: fields, DATA both ways, trailers intact (gRPC).
import EventLoop
import HTTP
import HTTP2

extension H2Stream {
    // MARK: start

    func startH2Exchange(pool: UpstreamPool, source: UnsafeRawBufferPointer) {
        let conn: H2UpstreamConnection
        do { conn = try proxy.h2Connection(for: pool) } catch {
            fail(error)
            return
        }
        chunkedBody = false
        // Room for the composed X-Forwarded-For; the session copies every field at the submit.
        let storage = proxy.loop.buffers.take()
        defer { proxy.loop.buffers.give(storage) }
        let composed = connection.peerText.withUnsafeBytes { peer in
            fields.forEachHTTP2Field(source: source, clientAddress: peer, proto: connection.isTLS ? "https" : "http",
                                     scheme: pool.tls == nil ? "http" : "https", storage: storage.writable) { name, value in
                conn.session.addField(name: name, value: value)
            }
        }
        guard composed else {
            conn.session.discardFields()
            fail(.headTooLarge)
            return
        }
        do {
            upstreamStreamID = try conn.open(self, hasBody: !requestEnded || !body.isEmpty)
        } catch {
            proxy.log.warning("HTTP/2 upstream \(pool.configured): \(error)")
            fail(.upstreamReset)
            return
        }
        h2Upstream = conn
        h2Pool = pool
        // The fields (`scratch`) and the body bytes sent (`replay`) are kept until the response head
        // arrives: a stream the upstream refused unprocessed is sent again (see upstreamStreamClosed).
        proxy.responseDeadlines.arm(self, now: proxy.loop.now)
    }

    /// The upstream refused the stream without processing it (REFUSED_STREAM, or above the last
    /// stream id of its GOAWAY, RFC 9113 §8.7): safe to send again, once, on another stream.
    private func retryRefusedStream() -> Bool {
        guard !retried, replayable, !upstreamHeadDelivered, let pool = h2Pool, !pool.retired, let scratch else { return false }
        retried = true
        h2Upstream = nil
        if let r = replay, !r.isEmpty {
            body.prepend(r)
            replay = nil
        }
        requestComplete = false
        requestDeferred = false
        startH2Exchange(pool: pool, source: UnsafeRawBufferPointer(start: scratch.base, count: fields.used))
        return true
    }

    /// The response head arrived: no resend can happen any more.
    private func forgetReplay() {
        proxy.loop.buffers.give(from: &scratch)
        proxy.loop.buffers.give(from: &replay)
        replayable = false
    }

    /// Request body arrived or ended while the upstream session waits for it.
    func wakeUpstreamBody() {
        guard requestDeferred, let conn = h2Upstream else { return }
        requestDeferred = false
        conn.session.resume(stream: upstreamStreamID)
        proxy.markDirty(conn)
    }

    // MARK: request body (inside the upstream session's send)

    func readRequestBody(into out: UnsafeMutableRawBufferPointer) -> H2BodyRead {
        let n = body.take(into: out, pool: proxy.loop.buffers)
        if n > 0 && replayable {
            // Kept for a resend while it fits one buffer; a longer body is not resent.
            let kept = replay ?? proxy.loop.buffers.take()
            if kept.append(UnsafeRawBufferPointer(start: out.baseAddress, count: n)) {
                replay = kept
            } else {
                proxy.loop.buffers.give(kept)
                replay = nil
                replayable = false
            }
        }
        if n > 0 {
            // The upload is moving: the upstream is not silent.
            proxy.responseDeadlines.arm(self, now: proxy.loop.now)
            let acknowledged = min(n, unacknowledged)
            unacknowledged -= acknowledged
            session.consume(stream: id, acknowledged)
            updateRequestBodyWindow()
            proxy.markDirty(connection)
        }
        if body.isEmpty && requestEnded {
            requestComplete = true
            return .bytes(n, last: true)
        }
        if n > 0 { return .bytes(n, last: false) }
        requestDeferred = true
        return .deferred
    }

    // MARK: response (inside the upstream session's receive)

    func upstreamField(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        let buffer = upstreamFieldBytes ?? proxy.loop.buffers.take()
        upstreamFieldBytes = buffer
        guard buffer.writableCount >= name.count + value.count else {
            // Larger than a head may be: the response is refused when the head ends.
            upstreamStatus = -1
            return
        }
        let start = buffer.writerIndex
        _ = buffer.append(name)
        _ = buffer.append(value)
        upstreamFields.append((ByteRange(lowerBound: start, upperBound: start + name.count),
                               ByteRange(lowerBound: start + name.count, upperBound: buffer.writerIndex)))
        if name.count == 7 && name.elementsEqual(":status".utf8) && value.count == 3 && upstreamStatus >= 0 {
            upstreamStatus = Int(value[0] &- 48) * 100 + Int(value[1] &- 48) * 10 + Int(value[2] &- 48)
        }
    }

    func upstreamHeadersEnded(endStream: Bool) {
        guard !finished else { return }
        proxy.responseDeadlines.arm(self, now: proxy.loop.now)
        if upstreamHeadDelivered {
            // Trailers: kept until the last DATA went to the client.
            upstreamTrailers = true
            if endStream { upstreamEnded() }
            return
        }
        if upstreamStatus < 0 || upstreamStatus > 999 {
            clearUpstreamFields()
            fail(.invalidResponse)
            return
        }
        if upstreamStatus < 200 {
            // Interim heads (100, 103) are dropped, as for HTTP/1.1 upstreams.
            clearUpstreamFields()
            upstreamStatus = 0
            return
        }
        submitUpstreamHead(hasBody: !endStream)
        if endStream {
            upstreamFinished = true
            upstreamResponseCompleted()
        }
        proxy.markDirty(connection)
    }

    private func submitUpstreamHead(hasBody: Bool) {
        guard addUpstreamFields() else { return }
        do {
            try session.submitResponse(stream: id, status: upstreamStatus, hasBody: hasBody)
        } catch {
            session.discardFields()
            clearUpstreamFields()
            fail(.invalidResponse)
            return
        }
        clearUpstreamFields()
        responseStarted = true
        upstreamHeadDelivered = true
        forgetReplay()
    }

    /// Adds the stored upstream fields (head or trailers; pseudo-fields skipped) to the client's next
    /// submit, noting what gRPC needs; false when none were stored.
    private func addUpstreamFields() -> Bool {
        guard let buffer = upstreamFieldBytes else { return false }
        // The ranges are offsets from the buffer's start (it is only ever appended to, then cleared).
        let bytes = UnsafeRawBufferPointer(start: buffer.base, count: buffer.writerIndex)
        for (name, value) in upstreamFields {
            let n = bytes.slice(name)
            let v = bytes.slice(value)
            if n.first == UInt8(ascii: ":") { continue }
            noteGRPC(name: n, value: v)
            session.addField(name: n, value: v)
        }
        return true
    }

    /// `content-type: application/grpc…` and `grpc-status` (in the head of a trailers-only response, or in trailers).
    private func noteGRPC(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        if name.count == 12 && name.elementsEqual("content-type".utf8) {
            isGRPC = value.count >= 16 && value.prefix(16).elementsEqual("application/grpc".utf8)
        } else if name.count == 11 && name.elementsEqual("grpc-status".utf8) {
            var code = 0
            for digit in value {
                guard digit >= 48 && digit <= 57 else { code = -1; break }
                code = code * 10 + Int(digit - 48)
            }
            grpcStatus = value.isEmpty ? -1 : code
        }
    }

    private func clearUpstreamFields() {
        upstreamFields.removeAll(keepingCapacity: true)
        upstreamFieldBytes?.clear()
    }

    func upstreamData(_ bytes: UnsafeRawBufferPointer) {
        guard !finished else { return }
        responseData.append(bytes, pool: proxy.loop.buffers)
        proxy.responseDeadlines.arm(self, now: proxy.loop.now)
        wakeDownstream()
    }

    func upstreamEnded() {
        upstreamFinished = true
        wakeDownstream()
    }

    private func wakeDownstream() {
        if deferred {
            deferred = false
            session.resume(stream: id)
        }
        proxy.markDirty(connection)
    }

    /// The upstream closed its stream: normal after the response; before it, a reset.
    func upstreamStreamClosed(errorCode: UInt32) {
        guard !finished else { return }
        if !upstreamFinished {
            if errorCode == H2ErrorCode.refusedStream.rawValue && retryRefusedStream() { return }
            upstreamLost(.upstreamReset)
        } else if !requestComplete {
            // Answered before the request body was all sent: the rest is dropped.
            dropRequestBody()
        }
    }

    /// The upstream connection or stream failed before the response ended.
    func upstreamLost(_ failure: ProxyFailure) {
        h2Upstream = nil
        guard !finished else { return }
        if upstreamFinished {
            // The whole response is here (an early answer, then the upstream closed): it still goes
            // to the client; only the request body has nowhere to go.
            if !requestComplete { dropRequestBody() }
            return
        }
        cancelDeadline()
        fail(failure)
        proxy.markDirty(connection)
    }

    // MARK: response DATA (inside the downstream session's send)

    func readUpstreamData(into out: UnsafeMutableRawBufferPointer) -> H2BodyRead {
        let n = responseData.take(into: out, pool: proxy.loop.buffers)
        bytesToClient &+= UInt64(n)
        if n > 0 { connection.responseDataSent() }
        if n > 0, let conn = h2Upstream {
            conn.session.consume(stream: upstreamStreamID, n)
            proxy.markDirty(conn)
        }
        if responseData.isEmpty && upstreamFinished {
            let trailers = upstreamTrailers && submitUpstreamTrailers()
            upstreamResponseCompleted()
            return .bytes(n, last: true, trailers: trailers)
        }
        if n > 0 { return .bytes(n, last: false) }
        deferred = true
        return .deferred
    }

    /// Sends the stored trailers after the last DATA (from within the DATA source call, which nghttp2 allows).
    private func submitUpstreamTrailers() -> Bool {
        guard addUpstreamFields() else { return false }
        clearUpstreamFields()
        do {
            try session.submitTrailers(stream: id)
            return true
        } catch {
            session.discardFields()
            return false
        }
    }

    /// The whole response went to the session: the outcome is final (gRPC failures by grpc-status).
    private func upstreamResponseCompleted() {
        let failedGRPC = isGRPC && Self.failingGRPCStatuses.contains(grpcStatus)
        recordOutcome(status: upstreamStatus, failure: failedGRPC ? .grpcError : nil)
        cancelDeadline()
        if !requestComplete { dropRequestBody() }
        if let conn = h2Upstream {
            h2Upstream = nil
            conn.abandon(upstreamStreamID, cancel: !requestComplete)
        }
    }

    /// UNKNOWN, DEADLINE_EXCEEDED, INTERNAL, UNAVAILABLE, DATA_LOSS: the server's failures. The other
    /// codes (NOT_FOUND, INVALID_ARGUMENT, …) are answers about the request, like a 4xx.
    static let failingGRPCStatuses: Set<Int> = [2, 4, 13, 14, 15]

    // MARK: deadline

    /// The response deadline of a stream relayed to an HTTP/2 upstream (armed on the stream itself).
    func h2UpstreamDeadlinePassed() {
        guard !finished else { return }
        let blockedOnClient = !responseData.isEmpty || (upstreamHeadDelivered && !deferred)
        let awaitingClientBody = !requestEnded && body.isEmpty && requestDeferred
        if blockedOnClient || awaitingClientBody {
            proxy.responseDeadlines.arm(self, now: proxy.loop.now)
            connection.watchClient()
            return
        }
        guard let conn = h2Upstream else { return }
        proxy.log.info("504 upstream response timeout (\(conn.pool.configured))")
        fail(.responseTimeout)
        proxy.markDirty(connection)
    }
}
