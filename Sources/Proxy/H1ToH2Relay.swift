// The role of an HTTP/1.1 client's exchange while its request is a stream of a multiplexed HTTP/2 upstream connection: what the upstream's events leave for the client.
import EventLoop
import HTTP
import HTTP2

/// Made once per client connection, on its first request to an HTTP/2 arm, and reused by its later
/// ones (`H1Exchange.http2Relay`): `start` sets every field for the next exchange, `end` gives back
/// what it holds. The upstream session's events arrive here inside its receive or send: they store
/// what came (fields, DATA) and list this object on the loop's dirty list, whose flush drives the
/// client connection (ClientConnection+H2Upstream.swift), so no client socket work runs inside nghttp2.
final class H1ToH2Relay: Pollable, H2UpstreamStream, DeferredFlush {
    /// Strong and immutable, so a read costs no retain.
    let proxy: ProxyLoop
    /// The exchange object of the connection that made this relay (it owns the relay, and lives as long
    /// as the connection); read only while `client` is set.
    unowned(unsafe) let exchange: H1Exchange
    /// The client connection while an exchange runs, nil between exchanges. Strong: the upstream
    /// connection's stream table and the dirty list may hold this object after the client closed,
    /// and `end` (which every end of an exchange reaches) clears it.
    private(set) var client: ClientConnection?
    /// The upstream connection carrying the stream; nil once the stream is closed or lost.
    var connection: H2UpstreamConnection?
    var streamID: Int32 = 0
    /// The arm's endpoint, for a resend of a refused stream.
    var pool: UpstreamPool?
    /// The request head as the client sent it, kept until the response head arrives: the fields are
    /// composed from it again for a resend of a refused stream.
    var head: ByteBuffer?
    /// Response fields: interim heads and the final head are written to the client as they end, trailers
    /// are kept here until the last chunk.
    var fields = H2ResponseFields()
    /// The final head arrived (and went into the client's output).
    var headArrived = false
    /// The response ended with its HEADERS frame.
    var endedWithHead = false
    var trailersStored = false
    var upstreamFinished = false
    /// How the body goes to the client, chosen with the head.
    var framing = H2ResponseFraming.Body.none
    /// Response DATA, held until the client takes it; the stream's window is acknowledged as it goes.
    var data = BufferQueue()
    /// Response bytes are held (the queue keeps one emptied buffer for the next bytes, so its
    /// `isEmpty` is not this).
    var holdsData: Bool { data.front.count > 0 }
    /// The whole response, with its last chunk, went into the client's output.
    var responseWritten = false
    /// The upstream session asked for request body and got `.deferred`.
    var requestDeferred = false
    /// A chunked request's trailer section, collected as it is decoded, sent as HTTP/2 trailers.
    var requestTrailers: ByteBuffer?
    /// The section did not fit one buffer: it is dropped whole (the body still goes).
    var requestTrailersDropped = false
    /// Request body bytes handed to the upstream session: a stream refused after any is not resent.
    var bodyBytesSent: UInt64 = 0
    var retried = false
    /// What a session event left for the client's next step: the upstream failed, the client's body is
    /// malformed, or a refused stream is to be opened again.
    var failure: ProxyFailure?
    var bodyError: HTTPParseError?
    var reopen = false
    private(set) var isActive = false
    var isDirty = false

    init(proxy: ProxyLoop, exchange: H1Exchange) {
        self.proxy = proxy
        self.exchange = exchange
    }

    /// Ready for an exchange of `client` with an endpoint of `pool`.
    func start(client: ClientConnection, pool: UpstreamPool) {
        self.client = client
        self.pool = pool
        connection = nil
        streamID = 0
        fields.restart()
        headArrived = false
        endedWithHead = false
        trailersStored = false
        upstreamFinished = false
        framing = .none
        responseWritten = false
        requestDeferred = false
        bodyBytesSent = 0
        requestTrailersDropped = false
        retried = false
        failure = nil
        bodyError = nil
        reopen = false
        isActive = true
    }

    /// The exchange ended, however: the upstream stream is cancelled if still open, buffers go back.
    func end() {
        guard isActive else { return }
        isActive = false
        cancelDeadline()
        if let conn = connection {
            connection = nil
            conn.abandon(streamID, cancel: true)
        }
        client = nil
        pool = nil
        let buffers = proxy.loop.buffers
        fields.release(pool: buffers)
        data.release(pool: buffers)
        buffers.give(from: &head)
        buffers.give(from: &requestTrailers)
    }

    /// The client is waiting to be driven: after the loop's events, `flush` runs its steps.
    private func wakeClient() { proxy.markDirty(self) }

    func flush() { client?.drive() }

    /// The response deadline (`timeouts.upstreamResponse`), armed on this object while the stream is open.
    override func handleDeadline() {
        guard isActive, let client else { return }
        client.h2ResponseDeadlinePassed(exchange, self)
    }

    /// Request body arrived from the client while the upstream session waits for it.
    func wakeRequestBody() {
        guard requestDeferred, let conn = connection else { return }
        requestDeferred = false
        conn.session.resume(stream: streamID)
        proxy.markDirty(conn)
    }

    /// `count` response bytes went to the client's output: the upstream may send that many more.
    func acknowledge(_ count: Int) {
        guard count > 0, let conn = connection else { return }
        conn.session.consume(stream: streamID, count)
        proxy.markDirty(conn)
    }

    /// The proxy waits on the client for body bytes: the session took all it was given and asked for more.
    var awaitsClientBody: Bool {
        isActive && requestDeferred && !exchange.requestBody.isFullyClassified && (client?.input?.isEmpty ?? true)
    }

    // MARK: session events (inside the upstream session's receive or send)

    func upstreamField(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        guard isActive else { return }
        fields.add(name: name, value: value, pool: proxy.loop.buffers)
    }

    func upstreamHeadersEnded(endStream: Bool) {
        guard isActive, failure == nil, let client else { return }
        proxy.responseDeadlines.arm(self, now: proxy.loop.now)
        wakeClient()
        if headArrived {
            // Trailers: kept until the last DATA went to the client.
            trailersStored = true
            if endStream { upstreamFinished = true }
            return
        }
        if fields.isInvalid || fields.status == 101 {
            // A switch of protocols was never asked for (Upgrade is not relayed).
            fields.clear()
            failure = .invalidResponse
            return
        }
        if fields.status < 200 {
            client.writeInterimHead(exchange, self)
            fields.clear(keepingStatus: false)
            return
        }
        headArrived = true
        endedWithHead = endStream
        if endStream { upstreamFinished = true }
        // A response came: no resend can happen any more.
        proxy.loop.buffers.give(from: &head)
        if !client.writeFinalHead(exchange, self) { failure = .invalidResponse }
    }

    func upstreamData(_ bytes: UnsafeRawBufferPointer) {
        guard isActive, failure == nil else { return }
        data.append(bytes, pool: proxy.loop.buffers)
        proxy.responseDeadlines.arm(self, now: proxy.loop.now)
        wakeClient()
    }

    func upstreamEnded() {
        guard isActive else { return }
        upstreamFinished = true
        wakeClient()
    }

    func upstreamStreamClosed(errorCode: UInt32) {
        guard isActive else { return }
        // The connection no longer holds the stream.
        connection = nil
        wakeClient()
        guard !upstreamFinished, failure == nil else { return }
        // REFUSED_STREAM, or above the last stream id of a GOAWAY (RFC 9113 §8.7): not processed, safe
        // to send again once, as the HTTP/2 clients' relay does, while no body byte went.
        if errorCode == H2ErrorCode.refusedStream.rawValue && !retried && !headArrived && bodyBytesSent == 0 && head != nil {
            retried = true
            reopen = true
            return
        }
        failure = .upstreamStreamReset
    }

    func upstreamLost(_ failure: ProxyFailure) {
        guard isActive else { return }
        connection = nil
        wakeClient()
        if !upstreamFinished && self.failure == nil { self.failure = failure }
    }

    /// Trailer bytes of the request as they are decoded; a section larger than a buffer is dropped whole.
    private func keepTrailer(_ piece: UnsafeRawBufferPointer) {
        guard !requestTrailersDropped else { return }
        let buffer = requestTrailers ?? proxy.loop.buffers.take()
        requestTrailers = buffer
        if !buffer.append(piece) {
            requestTrailersDropped = true
            buffer.clear()
        }
    }

    /// The request's trailers go out after its last DATA (submitted from within the DATA source call,
    /// which nghttp2 allows); false when there are none.
    private func submitRequestTrailers() -> Bool {
        guard let buffer = requestTrailers, !buffer.isEmpty, let session = connection?.session else { return false }
        defer { proxy.loop.buffers.give(from: &requestTrailers) }
        var any = false
        forEachTrailerField(UnsafeMutableRawBufferPointer(mutating: buffer.readable)) { name, value in
            session.addField(name: name, value: value)
            any = true
        }
        guard any else { return false }
        do {
            try session.submitTrailers(stream: streamID)
            return true
        } catch {
            session.discardFields()
            return false
        }
    }

    func readRequestBody(into out: UnsafeMutableRawBufferPointer) -> H2BodyRead {
        guard isActive, let input = client?.input else {
            if isActive && exchange.requestBody.isFullyClassified { return .bytes(0, last: true) }
            requestDeferred = true
            return isActive ? .deferred : .failed
        }
        switch exchange.requestBody.decode(input.readable, into: out, trailer: { keepTrailer($0) }) {
        case .failure(let error):
            bodyError = error
            wakeClient()
            return .failed
        case .success(let moved):
            let (consumed, produced) = moved
            input.consume(consumed)
            exchange.bytesFromClient &+= UInt64(consumed)
            bodyBytesSent &+= UInt64(produced)
            if exchange.requestBody.isFullyClassified {
                exchange.requestComplete = true
                wakeClient()
                return .bytes(produced, last: true, trailers: submitRequestTrailers())
            }
            // Whatever the session took, the client may now be read again (back-pressure released).
            wakeClient()
            if produced > 0 {
                // The upload is moving: the upstream is not silent.
                proxy.responseDeadlines.arm(self, now: proxy.loop.now)
                return .bytes(produced, last: false)
            }
            requestDeferred = true
            return .deferred
        }
    }
}
