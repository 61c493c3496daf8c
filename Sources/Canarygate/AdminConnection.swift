// One admin API connection on the admin loop: read a request, answer it, close, a deadline for each half; or,
// for GET /events, stream updates until the client leaves, falls too far behind or the loop stops.
import Config
import EventLoop
import Glibc

final class AdminConnection: Pollable {
    enum State {
        case reading(AdminRequestReader)
        case writing([UInt8], sent: Int)
        /// An event stream: no deadline; `since` is the timeline time the client has seen up to.
        case streaming(EventStreamOutbox, since: Double?)
    }

    static let streamSendBuffer: Int32 = 256 * 1024

    let socket: SocketDescriptor
    /// Where the client reached this API ("127.0.0.1:9901", "[::1]:9901"): a name it may use in `Host`.
    let localAddress: String
    let localIsLoopback: Bool
    private(set) var state = State.reading(AdminRequestReader())
    /// What let this connection's event stream in (nil: not a stream).
    private(set) var streamCredential: EventStreamCredential?
    private unowned let loop: AdminLoop

    init(socket: SocketDescriptor, loop: AdminLoop) {
        self.socket = socket
        self.loop = loop
        let local = try? socket.localAddress()
        let name = HostPort(host: local.map { NumericHost($0).text } ?? "", port: local?.port ?? 0)
        localAddress = name.description
        localIsLoopback = name.isLoopback
    }

    var isReading: Bool {
        if case .reading = state { return true }
        return false
    }

    /// The timeline time this stream has seen up to (nil: none yet, or not a stream).
    var streamedSince: Double? {
        if case .streaming(_, let since) = state { return since }
        return nil
    }

    override func handleEvent(_ events: UInt32) {
        switch state {
        case .reading(var reader):
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                let result = try? chunk.withUnsafeMutableBytes { try socket.read(into: $0) }
                guard case .value(let count)? = result else {
                    if case .wouldBlock? = result { state = .reading(reader) } else { loop.close(self) }
                    return
                }
                // The client went away before its request was complete: nobody to answer.
                guard count > 0 else { return loop.close(self) }
                switch reader.receive(chunk[0..<count]) {
                case .needMore: continue
                case .complete(let request): return answer(loop.respond(request, self))
                case .invalid(let reason): return answer(AdminResponse(status: "400 Bad Request", body: "bad request: \(reason)\n"))
                }
            }
        case .writing:
            flush()
        case .streaming:
            if events & (Reactor.readable | Reactor.readHangup | Reactor.hangup | Reactor.error) != 0 { discardInput() }
            // The input may have ended the stream, and its descriptor is closed then.
            if events & Reactor.writable != 0 && isRegistered { flushStream() }
        }
    }

    /// The request did not arrive in time (408, sent if the socket takes it at once), or the answer was not taken.
    override func handleDeadline() {
        if isReading {
            let late = AdminResponse(status: "408 Request Timeout", body: "request not received within \(AdminLoop.deadline)\n").bytes
            _ = try? late.withUnsafeBytes { try socket.write($0) }
        }
        loop.close(self)
    }

    /// Sends `response` with a fresh deadline: a client that stops reading is dropped, not waited for. An event
    /// stream instead goes to the loop's streams, without a deadline.
    private func answer(_ response: AdminResponse) {
        if let credential = response.eventStream { return loop.startStream(self, credential: credential) }
        state = .writing(response.bytes, sent: 0)
        loop.deadlines.arm(self, now: MonotonicClock.nowNanoseconds())
        flush()
    }

    private func flush() {
        guard case .writing(let bytes, var sent) = state else { return }
        while sent < bytes.count {
            let result = try? bytes.withUnsafeBytes { try socket.write(UnsafeRawBufferPointer(rebasing: $0[sent...])) }
            switch result {
            case .value(let count)?:
                sent += count
            case .wouldBlock?:
                state = .writing(bytes, sent: sent)
                do { try loop.reactor.modify(socket, self, interest: Reactor.writable) } catch { loop.close(self) }
                return
            case nil:
                return loop.close(self)
            }
        }
        loop.close(self)
    }

    // MARK: - Event stream

    /// Turns this connection into an event stream whose first message is `first` (the head goes before it).
    func beginStream(first: [UInt8], since: Double?, credential: EventStreamCredential) {
        cancelDeadline()
        streamCredential = credential
        // A fixed kernel buffer (Linux doubles it) instead of one autotuned up to 4 MiB: what a stalled client can
        // hold is then this plus the outbox's bound, and it reaches that bound in seconds, not minutes.
        try? socket.setOption(SOL_SOCKET, SO_SNDBUF, Self.streamSendBuffer)
        state = .streaming(EventStreamOutbox(first: EventStreamFrame.head + first), since: since)
        flushStream()
    }

    /// Queues `message` (covering the timeline up to `since`) and sends what the socket takes. False: the client
    /// is too far behind, and the caller drops it.
    func push(_ message: [UInt8], since: Double?) -> Bool {
        guard case .streaming(var outbox, _) = state else { return false }
        guard outbox.append(message) else { return false }
        state = .streaming(outbox, since: since)
        flushStream()
        return true
    }

    /// Writes what the socket takes; watches for writability only while bytes wait (the loop is level-triggered).
    private func flushStream() {
        guard case .streaming(var outbox, let since) = state else { return }
        while outbox.unsent > 0 {
            let result = outbox.withUnsent { bytes in try? socket.write(bytes) }
            switch result {
            case .value(let count)?:
                outbox.took(count)
            case .wouldBlock?:
                state = .streaming(outbox, since: since)
                return watch(writable: true)
            case nil:
                return loop.close(self)
            }
        }
        state = .streaming(outbox, since: since)
        watch(writable: false)
    }

    private func watch(writable: Bool) {
        let interest = Reactor.readable | Reactor.readHangup | (writable ? Reactor.writable : 0)
        do { try loop.reactor.modify(socket, self, interest: interest) } catch { loop.close(self) }
    }

    /// A stream's client has nothing to say; what it sends is dropped, and its end (EOF, reset) ends the stream.
    private func discardInput() {
        var chunk = [UInt8](repeating: 0, count: 4096)
        for _ in 0..<16 {
            let result = try? chunk.withUnsafeMutableBytes { try socket.read(into: $0) }
            switch result {
            case .value(let count)? where count > 0: continue
            case .wouldBlock?: return
            default: return loop.close(self)
            }
        }
    }
}
