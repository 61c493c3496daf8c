// One downstream HTTP/2 connection (h2 over TLS, or h2c with prior knowledge): socket I/O, the nghttp2 session, its streams.
import EventLoop
import HTTP2

/// Every stream is one request with its own upstream exchange (`H2Stream`). The session's callbacks
/// only record what happened; streams touched by them are driven once the session returns, so no
/// socket work or teardown runs inside nghttp2 except reading upstream bytes for a DATA frame.
final class H2Connection: Pollable, H2SessionDelegate {
    let fd: SocketDescriptor
    let transport: ClientTransport
    /// Strong: a read costs no retain; the loop closes what is still open when it stops (no cycle outlives it).
    let proxy: ProxyLoop
    let peerText: NumericHost
    /// The listener that accepted it (see ClientConnection.listener).
    let listener: Listener
    private(set) var session: H2Session!
    private var input: ByteBuffer?
    private var output: ByteBuffer?
    private var readable = true
    private var writable = true
    private var peerHungUp = false
    private let streams = StreamTable<H2Stream>()
    /// Streams the session's callbacks changed, driven after it returns.
    private var touched: [H2Stream] = []
    /// Streams closed by the session, given back to the loop's spares once no list refers to them.
    private var ended: [H2Stream] = []
    private var closed = false
    /// GOAWAY was queued: the streams in flight finish, then the connection closes.
    private var goingAway = false
    /// The idle deadline is running because the client is not taking what we send.
    private var watchingClient = false
    /// Set while on the loop's list of connections to flush after the current events.
    var isDirty = false
    /// Open streams whose response has not gone out completely. Streams already answered but still
    /// receiving (the rest of a request body) do not keep the connection from being idle.
    private var unanswered = 0
    /// A stream produced response DATA during the current flush: the client is taking bytes.
    private var sentResponseData = false
    /// Whether the client is in the middle of a header block, from the frames it sent.
    private var headerBlocks = H2HeaderBlockWatch()
    /// The deadline running is `timeouts.requestHeader` for the open header block, armed at its first frame.
    private var timingHeaderBlock = false

    /// Takes over a connection whose first bytes (in `input`, if any) start the HTTP/2 preface.
    init(
        fd: SocketDescriptor, transport: ClientTransport, peerText: NumericHost, input: ByteBuffer?, listener: Listener,
        proxy: ProxyLoop
    ) throws(H2Error) {
        self.fd = fd
        self.listener = listener
        self.transport = transport
        self.peerText = peerText
        self.input = input
        self.proxy = proxy
        super.init()
        session = try H2Session(
            delegate: self, settings: H2Settings(maxHeaderListSize: UInt32(proxy.maxHeaderBytes)), memory: proxy.h2Memory)
    }

    var isTLS: Bool { transport.isTLS }

    override func handleEvent(_ events: UInt32) {
        if events & (Reactor.readable | Reactor.readHangup | Reactor.hangup | Reactor.error) != 0 { readable = true }
        if events & (Reactor.readHangup | Reactor.hangup | Reactor.error) != 0 { peerHungUp = true }
        if events & Reactor.writable != 0 { writable = true }
        drive()
    }

    /// Reads and processes what the client sent, drives the streams it touched, writes what is due.
    func drive() {
        guard !closed else { return }
        receive()
        guard !closed else { return }
        driveTouched()
        flush()
    }

    private func recycleEnded() {
        for stream in ended { proxy.recycle(stream) }
        ended.removeAll(keepingCapacity: true)
    }

    /// The client has been idle (no stream) or has not taken our bytes for the idle timeout, or has
    /// left a header block unfinished for the request header timeout.
    override func handleDeadline() {
        guard !closed else { return }
        if timingHeaderBlock {
            // Nothing else can be processed on the connection until the block ends (RFC 9113 §6.10):
            // it is over. PROTOCOL_ERROR: the frames the client owes will never be read.
            proxy.log.info("HTTP/2 header block unfinished after the request header timeout: closing the connection")
            goingAway = true
            session.terminate(.protocolError)
            flush()
            close()
            return
        }
        if unanswered == 0 && !goingAway {
            goingAway = true
            session.goAway()
            flush()
        }
        close()
    }

    // MARK: input

    private func receive() {
        while !closed {
            let buffer = input ?? proxy.loop.buffers.take()
            input = buffer
            if !buffer.isEmpty {
                headerBlocks.scan(buffer.readable)
                do {
                    try session.receive(buffer.readable)
                } catch {
                    // Fatal to the session (not even an HTTP/2 preface): flush what is queued and stop.
                    // Other protocol errors end the session through nghttp2's own GOAWAY (`isActive`).
                    proxy.log.debug("HTTP/2 client error: \(error)")
                    buffer.clear()
                    driveTouched()
                    goingAway = true
                    flush()
                    close()
                    return
                }
                buffer.clear()
            }
            guard readable else { break }
            let n: Int?
            do { n = try transport.read(into: buffer, readable: &readable, peerHungUp: peerHungUp) } catch {
                close()
                return
            }
            guard let n else { break }
            if n == 0 {
                close()
                return
            }
        }
        if let b = input, b.isEmpty {
            proxy.loop.buffers.give(b)
            input = nil
        }
    }

    private func driveTouched() {
        var i = 0
        // Indexing: a stream driven here may touch others (never itself again), appending to the list.
        while i < touched.count {
            let stream = touched[i]
            stream.isTouched = false
            stream.advance()
            i += 1
        }
        touched.removeAll(keepingCapacity: true)
        recycleEnded()
    }

    /// Marks `stream` to be driven once the session returns (also from within its send).
    func touch(_ stream: H2Stream) {
        guard !stream.isTouched else { return }
        stream.isTouched = true
        touched.append(stream)
    }

    // MARK: output

    /// Writes pending frames, asking the session for more while the socket takes them.
    func flush() {
        guard !closed else { return }
        var wrote = false
        sentResponseData = false
        while true {
            do {
                let pending = try transport.writePending(output, writable: &writable)
                if pending.written > 0 { wrote = true }
                guard pending.done else { break }
            } catch {
                close()
                return
            }
            let out = proxy.loop.buffers.emptied(&output)
            do {
                let n = try session.send(into: out.writable)
                if n == 0 {
                    // Streams touched during the send (a response completed, bytes to acknowledge)
                    // are driven now; what they queue goes out in the next round.
                    guard !touched.isEmpty else { break }
                    driveTouched()
                    continue
                }
                out.commit(n)
            } catch {
                proxy.log.debug("HTTP/2 session: \(error)")
                close()
                return
            }
        }
        if let b = output, b.isEmpty {
            proxy.loop.buffers.give(b)
            output = nil
        }
        // Streams touched in the last send are driven now (a write that blocked ended the loop early);
        // only then can ended streams go back to the spares, no list referring to them.
        if touched.isEmpty { recycleEnded() } else { driveTouched() }
        if !session.isActive && output == nil {
            transport.shutdownWrite()
            close()
            return
        }
        updateDeadline(wrote: wrote)
    }

    /// Idle: no stream for the idle timeout, or a client that takes nothing of what is queued for it
    /// for that long (a slow reader that keeps taking bytes is not idle). Streams waiting on their
    /// upstream are guarded by the upstream deadlines instead.
    private func updateDeadline(wrote: Bool) {
        // A header block in progress holds its stream, its buffer and the whole connection (its
        // stream counts as unanswered, which would otherwise cancel the idle deadline): it must end
        // within the request header timeout from its first frame, however it trickles.
        if headerBlocks.isOpen {
            if !timingHeaderBlock {
                timingHeaderBlock = true
                proxy.headerDeadlines.arm(self, now: proxy.loop.now)
            }
            return
        }
        if timingHeaderBlock {
            timingHeaderBlock = false
            cancelDeadline()
        }
        let blocked = output.map { !$0.isEmpty } ?? false
        // Only response DATA shows a stream waiting on the client's window is moving again (a PING
        // answer is a write too, and would keep a client that never opens its window alive).
        if sentResponseData { watchingClient = false }
        if unanswered == 0 {
            proxy.idleDeadlines.arm(self, now: proxy.loop.now)
        } else if blocked {
            if wrote || !hasDeadline { proxy.idleDeadlines.arm(self, now: proxy.loop.now) }
        } else if watchingClient {
            if !hasDeadline { proxy.idleDeadlines.arm(self, now: proxy.loop.now) }
        } else {
            cancelDeadline()
        }
    }

    /// A stream waits for the client to open its flow-control window: bound that wait by the idle timeout.
    func watchClient() {
        watchingClient = true
        if !hasDeadline { proxy.idleDeadlines.arm(self, now: proxy.loop.now) }
    }

    // MARK: lifecycle

    /// Every stream of the connection, for the loop's in-flight sweep (which only marks them).
    func forEachStream(_ body: (H2Stream) -> Void) { streams.forEach(body) }

    /// The loop drains: GOAWAY now, close once the streams in flight are answered.
    func drainRequested() {
        guard !closed, !goingAway else { return }
        goingAway = true
        session.goAway()
        flush()
    }

    func close() {
        guard !closed else { return }
        closed = true
        cancelDeadline()
        for stream in streams.removeAll() { stream.connectionGone() }
        unanswered = 0
        recent = nil
        touched.removeAll()
        ended.removeAll()
        proxy.loop.buffers.give(from: &input)
        proxy.loop.buffers.give(from: &output)
        proxy.loop.reactor.deregister(self)
        fd.close()
        proxy.connectionClosed(listener)
        session = nil
    }

    // MARK: session events

    /// The stream the last event was about: a head arrives as one event per field, so most lookups
    /// repeat the previous one and skip the table. Unmanaged so that a field can be handed to it
    /// borrowed (no retain); it is always also in `streams`, and leaves with it.
    private var recent: Unmanaged<H2Stream>?

    /// `recent`, when it is stream `id`.
    private func recent(_ id: Int32) -> Unmanaged<H2Stream>? {
        guard let recent, recent._withUnsafeGuaranteedRef({ $0.id == id }) else { return nil }
        return recent
    }

    private func stream(_ id: Int32) -> H2Stream? {
        if let recent = recent(id) { return recent.takeUnretainedValue() }
        let found = streams[id]
        recent = found.map { Unmanaged.passUnretained($0) }
        return found
    }

    func h2StreamBegan(_ id: Int32) {
        let stream = proxy.takeH2Stream(for: self)
        stream.begin(id: id, connection: self)
        streams.insert(stream, for: id)
        recent = Unmanaged.passUnretained(stream)
        unanswered += 1
    }

    private func markAnswered(_ stream: H2Stream) {
        guard !stream.answered else { return }
        stream.answered = true
        unanswered -= 1
    }

    /// A stream handed response DATA to the session.
    func responseDataSent() {
        sentResponseData = true
    }

    func h2Field(_ id: Int32, name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, trailer: Bool) -> Bool {
        if let recent = recent(id) {
            // The common case, once per field: adding a field cannot end the stream, so borrowing is safe.
            return recent._withUnsafeGuaranteedRef {
                trailer ? $0.addTrailerField(name: name, value: value) : $0.addField(name: name, value: value)
            }
        }
        guard let stream = stream(id) else { return true }
        return trailer ? stream.addTrailerField(name: name, value: value) : stream.addField(name: name, value: value)
    }

    func h2HeadEnded(_ id: Int32, endStream: Bool) {
        guard let stream = stream(id) else { return }
        stream.headEnded(endStream: endStream)
        touch(stream)
    }

    func h2Data(_ id: Int32, _ bytes: UnsafeRawBufferPointer) {
        guard let stream = stream(id) else { return }
        stream.received(bytes)
        touch(stream)
    }

    func h2RequestEnded(_ id: Int32) {
        guard let stream = stream(id) else { return }
        stream.requestBodyEnded()
        touch(stream)
    }

    func h2StreamClosed(_ id: Int32, errorCode: UInt32) {
        guard let stream = streams.removeValue(for: id) else { return }
        if recent(id) != nil { recent = nil }
        markAnswered(stream)
        stream.closed(errorCode: errorCode)
        ended.append(stream)
    }

    /// Client resets beyond what normal cancellation explains (CVE-2023-44487 "rapid reset": open
    /// a stream, reset it, repeat — each one costs an upstream exchange, and the stream limit does
    /// not bound the rate). Upstream nghttp2 1.52 has no limit of its own (Debian backported one of ~1,000 resets).
    private var clientResets = 0
    private var answeredStreams = 0

    func h2StreamResetByClient(_ id: Int32) {
        clientResets += 1
        // Cancelling some requests is normal (a browser navigating away); resetting far more streams
        // than were answered is not.
        if clientResets > 200 && clientResets > 2 * answeredStreams && !goingAway {
            proxy.log.warning("HTTP/2 client reset \(clientResets) streams for \(answeredStreams) answered: closing the connection")
            goingAway = true
            session.terminate(.enhanceYourCalm)
        }
    }

    func h2ResponseSent(_ id: Int32) {
        // A client still sending the body of an answered request is not reset (RFC 9113 §8.1 allows
        // RST_STREAM NO_ERROR, but curl 7.88 then drops the response it already has): the stream
        // keeps acknowledging and dropping what comes, as a lingering close would, within the idle
        // timeout (an answered stream does not keep the connection busy).
        answeredStreams += 1
        if let stream = stream(id) { markAnswered(stream) }
    }

    func h2ReadBody(_ id: Int32, into buffer: UnsafeMutableRawBufferPointer) -> H2BodyRead {
        guard let stream = stream(id) else { return .failed }
        return stream.readBody(into: buffer)
    }
}
