// A multiplexed HTTP/2 connection to one upstream endpoint (an arm with `protocol: h2`): many streams of many clients, one socket per loop.
import EventLoop
import HTTP2
import TLS

/// Streams are `H2Stream`s of downstream HTTP/2 connections or `H1ToH2Relay`s of HTTP/1.1 clients
/// (`H2UpstreamStream`); the session's events are forwarded to them. Like the downstream side, nothing here runs socket work inside nghttp2 callbacks except
/// what the stream does to its own queues; cross-connection flushes go through the loop's dirty lists.
final class H2UpstreamConnection: Pollable, H2ClientDelegate {
    let fd: SocketDescriptor
    /// The socket itself, or a TLS session on it (an arm with `tls:`; "h2" offered by ALPN).
    private let transport: ClientTransport
    /// The TLS handshake still to finish before any frame goes out; nil for plain TCP or once done.
    private var handshaking: TLSSession?
    /// Strong, as for `UpstreamConnection`: a reload may retire the pool while streams are open.
    let pool: UpstreamPool
    /// Strong: a read costs no retain; the loop closes what is still open when it stops (no cycle outlives it).
    let proxy: ProxyLoop
    private(set) var session: H2ClientSession!
    private var connected: Bool
    private var readable = false
    private var writable = false
    private var peerHungUp = false
    private var input: ByteBuffer?
    private var output: ByteBuffer?
    private let streams = StreamTable<any H2UpstreamStream>()
    private(set) var closed = false
    /// Depth of calls into the session (its callbacks may close this connection).
    private var inSession = 0
    /// Set while on the loop's list of connections to flush after the current events.
    var isDirty = false

    /// Our own cap on streams per connection, under the server's SETTINGS_MAX_CONCURRENT_STREAMS.
    static let maxStreams = 100

    /// Starts a non-blocking connect; requests submitted meanwhile go out once it completes.
    init(pool: UpstreamPool, proxy: ProxyLoop) throws(ProxyFailure) {
        self.pool = pool
        self.proxy = proxy
        (fd, connected) = try pool.connect(now: proxy.loop.now)
        writable = connected
        if let tls = pool.tls {
            do {
                let session = try TLSSession(client: tls.context, fd: fd.raw, serverName: tls.serverName, resumption: pool.resumption)
                try session.offerALPN(["h2"])
                transport = .tls(fd, session)
                handshaking = session
            } catch {
                fd.close()
                throw .resourceExhausted
            }
        } else {
            transport = .plain(fd)
        }
        super.init()
        do {
            session = try H2ClientSession(
                delegate: self, settings: H2Settings(maxHeaderListSize: UInt32(proxy.maxHeaderBytes)), memory: proxy.h2Memory)
            try proxy.loop.reactor.register(
                fd, self, interest: Reactor.readable | Reactor.writable | Reactor.readHangup | Reactor.edgeTriggered)
        } catch {
            fd.close()
            closed = true
            throw .resourceExhausted
        }
        // Connect and TLS handshake are bounded by the connect timeout.
        if !connected || handshaking != nil { proxy.connectDeadlines.arm(self, now: proxy.loop.now) }
    }

    /// Whether one more stream fits (the server's limit and ours, no GOAWAY, not retiring).
    var acceptsStream: Bool {
        !closed && !retiring && session.acceptsRequests && streams.count < min(Self.maxStreams, Int(session.peerMaxConcurrentStreams))
    }

    /// Its endpoint left the config (or its idle connections are being closed): no new streams;
    /// it closes once the streams in flight are done.
    private var retiring = false

    func retire() {
        retiring = true
        if streams.isEmpty { close() }
    }

    /// Opens a stream for `stream` with the fields added to `session`; sent at the next flush.
    func open(_ stream: any H2UpstreamStream, hasBody: Bool) throws(H2Error) -> Int32 {
        let id = try session.submitRequest(hasBody: hasBody)
        streams.insert(stream, for: id)
        // The idle timeout stops; a connect timeout still running must not.
        if connected && handshaking == nil { cancelDeadline() }
        proxy.markDirty(self)
        return id
    }

    /// The downstream stream is done with `id` (answered, or gone): cancel it upstream if still open.
    func abandon(_ id: Int32, cancel: Bool) {
        guard streams.removeValue(for: id) != nil, !closed else { return }
        if cancel { session.reset(stream: id, code: .cancel) }
        proxy.markDirty(self)
        // A retiring connection ends with its last stream, however that stream ended.
        if retiring && streams.isEmpty { close() }
    }

    override func handleEvent(_ events: UInt32) {
        if events & (Reactor.readable | Reactor.readHangup | Reactor.hangup | Reactor.error) != 0 { readable = true }
        if events & (Reactor.readHangup | Reactor.hangup | Reactor.error) != 0 { peerHungUp = true }
        if events & Reactor.writable != 0 { writable = true }
        guard !closed else { return }
        if !connected {
            guard writable || peerHungUp else { return }
            if let error = fd.pendingError() {
                pool.recordFailure(now: proxy.loop.now)
                fail(.connect(error))
                return
            }
            connected = true
            if handshaking == nil {
                pool.recordConnected()
                cancelDeadline()
            }
        }
        if let session = handshaking {
            guard handshake(session) else { return }
        }
        receive()
        flush()
    }

    /// Advances the TLS handshake; true once it is done and the server chose "h2".
    private func handshake(_ session: TLSSession) -> Bool {
        do {
            switch try session.handshake() {
            case .wantRead, .wantWrite:
                return false
            case .done:
                guard session.negotiatedProtocol == "h2" else {
                    proxy.log.warning("HTTP/2 upstream \(pool.configured): the TLS server did not choose h2 by ALPN")
                    pool.recordFailure(now: proxy.loop.now)
                    fail(.upstreamTLSFailed)
                    return false
                }
                handshaking = nil
                pool.recordConnected()
                cancelDeadline()
                // The handshake's reads took the socket's readable edge.
                readable = true
                writable = true
                return true
            }
        } catch {
            let reason = session.verificationFailure.map { " (\($0))" } ?? ""
            proxy.log.warning("HTTP/2 upstream \(pool.configured): TLS handshake failed: \(error)\(reason)")
            pool.recordFailure(now: proxy.loop.now)
            fail(.upstreamTLSFailed)
            return false
        }
    }

    /// Connect timeout, or an idle connection's upstream-idle timeout.
    override func handleDeadline() {
        guard !closed else { return }
        if !connected || handshaking != nil {
            pool.recordFailure(now: proxy.loop.now)
            fail(.connectTimeout)
        } else if streams.isEmpty {
            close()
        }
    }

    private func receive() {
        while readable && !closed {
            let buffer = proxy.loop.buffers.emptied(&input)
            let n: Int?
            do { n = try transport.read(into: buffer, readable: &readable, peerHungUp: peerHungUp) } catch {
                fail(.upstreamReset)
                continue
            }
            guard let n else { continue }
            if n == 0 {
                fail(.upstreamClosed)
                continue
            }
            inSession += 1
            defer { inSession -= 1 }
            do { try session.receive(buffer.readable) } catch {
                proxy.log.warning("HTTP/2 upstream \(pool.configured): \(error)")
                flush()
                fail(.invalidResponse)
            }
        }
        proxy.loop.buffers.give(from: &input)
    }

    /// Writes pending frames while the socket takes them.
    func flush() {
        guard !closed, connected, handshaking == nil else { return }
        while true {
            do {
                guard try transport.writePending(output, writable: &writable).done else { break }
            } catch {
                fail(.upstreamReset)
                return
            }
            let out = proxy.loop.buffers.emptied(&output)
            do {
                inSession += 1
                let n = try session.send(into: out.writable)
                inSession -= 1
                if closed {
                    // A stream's end inside the send retired the connection: its buffer is freed here.
                    proxy.loop.buffers.give(out)
                    output = nil
                    return
                }
                if n == 0 { break }
                out.commit(n)
            } catch {
                inSession -= 1
                fail(.upstreamReset)
                return
            }
        }
        if let b = output, b.isEmpty {
            proxy.loop.buffers.give(b)
            output = nil
        }
        if !session.isActive && output == nil {
            close()
        } else if streams.isEmpty && !hasDeadline {
            proxy.upstreamIdleDeadlines.arm(self, now: proxy.loop.now)
        }
    }

    /// The connection is lost: every stream on it fails with `failure`.
    private func fail(_ failure: ProxyFailure) {
        guard !closed else { return }
        let lost = streams.removeAll()
        close()
        for stream in lost { stream.upstreamLost(failure) }
    }

    func close() {
        guard !closed else { return }
        closed = true
        cancelDeadline()
        for stream in streams.removeAll() { stream.upstreamLost(.upstreamClosed) }
        // Inside the session's receive or send, nghttp2 still works on these buffers: the caller
        // gives them back once it returns.
        if inSession == 0 {
            proxy.loop.buffers.give(from: &input)
            proxy.loop.buffers.give(from: &output)
        }
        proxy.loop.reactor.deregister(self)
        if handshaking == nil, connected { transport.shutdownWrite() }
        fd.close()
        pool.forget(self)
    }

    // MARK: session events (forwarded to the stream)

    func h2ResponseField(_ id: Int32, name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        streams[id]?.upstreamField(name: name, value: value)
    }

    func h2ResponseHeadersEnded(_ id: Int32, endStream: Bool) {
        streams[id]?.upstreamHeadersEnded(endStream: endStream)
    }

    func h2ResponseData(_ id: Int32, _ bytes: UnsafeRawBufferPointer) {
        // A stream we abandoned needs nothing: the connection window was acknowledged on receipt.
        streams[id]?.upstreamData(bytes)
    }

    func h2ResponseEnded(_ id: Int32) {
        streams[id]?.upstreamEnded()
    }

    func h2StreamClosed(_ id: Int32, errorCode: UInt32) {
        guard let stream = streams.removeValue(for: id) else { return }
        stream.upstreamStreamClosed(errorCode: errorCode)
        // Closing inside the session's callback is safe: `close` leaves the session alive, and the
        // caller (the reactor or the loop's dirty list) holds this connection until it returns.
        if streams.isEmpty {
            if retiring { close() } else { proxy.upstreamIdleDeadlines.arm(self, now: proxy.loop.now) }
        }
    }

    func h2ReadRequestBody(_ id: Int32, into buffer: UnsafeMutableRawBufferPointer) -> H2BodyRead {
        guard let stream = streams[id] else { return .failed }
        return stream.readRequestBody(into: buffer)
    }
}
