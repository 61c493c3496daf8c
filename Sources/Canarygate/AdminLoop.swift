// The admin API's own epoll loop: connections served side by side on one thread, at most 32, each with 2 s deadlines.
import EventLoop
import Glibc

/// A client that connects and says nothing costs a descriptor and a deadline here, not the thread, so it
/// cannot delay `/healthz`. Requests are answered on this thread as they complete (a reload reads and
/// checks the config file first, milliseconds), never by a data-plane loop.
final class AdminLoop {
    /// Plenty for people, scrapers and probes; past it, the oldest connection still sending its request is
    /// dropped for the new one (a stalled client loses to a fresh one), and when every connection is being
    /// answered the new one gets a 503.
    static let maxConnections = 32
    /// For the whole request (head and body), and again for sending the answer.
    static let deadline = Duration.seconds(2)
    /// Out of descriptors (EMFILE, ENFILE), accepting again at once would fail again: the loop would spin.
    static let acceptBackoff = Duration.milliseconds(100)

    let reactor: Reactor
    let deadlines = DeadlineList(duration: AdminLoop.deadline)
    let respond: (AdminRequest, AdminConnection) -> AdminResponse
    private let listener: SocketDescriptor
    private var listenerEvents: ListenerEvents!
    /// In accept order, so the first one reading is the oldest.
    private var connections: [AdminConnection] = []
    private var acceptResumesAt: UInt64?
    /// Given up to accept when clients hold every other descriptor, so `/healthz` still answers;
    /// taken back when a connection closes.
    private let spare = SpareDescriptor()

    init(listener: SocketDescriptor, respond: @escaping (AdminRequest, AdminConnection) -> AdminResponse) throws(Errno) {
        reactor = try Reactor()
        self.listener = listener
        self.respond = respond
        listenerEvents = ListenerEvents(loop: self)
        try reactor.register(listener, listenerEvents, interest: Reactor.readable)
    }

    /// Serves until `isStopping()` (checked at least every 200 ms), then closes every connection.
    func run(isStopping: () -> Bool) {
        while !isStopping() {
            let now = MonotonicClock.nowNanoseconds()
            let wakeAt = [deadlines.earliest, acceptResumesAt, now + 200_000_000].compactMap { $0 }.min()!
            let timeout = Int32(wakeAt > now ? (wakeAt - now + 999_999) / 1_000_000 : 0)
            _ = try? reactor.poll(timeoutMilliseconds: timeout)
            let after = MonotonicClock.nowNanoseconds()
            deadlines.expire(now: after)
            if let resume = acceptResumesAt, after >= resume {
                acceptResumesAt = nil
                try? reactor.modify(listener, listenerEvents, interest: Reactor.readable)
            }
        }
        for connection in connections { close(connection) }
        reactor.deregister(listenerEvents)
    }

    func close(_ connection: AdminConnection) {
        guard connection.isRegistered else { return }
        reactor.deregister(connection)
        connection.cancelDeadline()
        connection.socket.close()
        connections.removeAll { $0 === connection }
        spare.restore()
    }

    /// Takes the pending connections, a bounded number per wake-up so that deadlines keep running.
    fileprivate func acceptPending() {
        for _ in 0..<Self.maxConnections {
            var peer: SocketAddress?
            let accepted: IOResult<SocketDescriptor>
            do { accepted = try spare.accept(on: listener, peer: &peer) } catch {
                if error.isDescriptorShortage || error == .noBuffers || error == .noMemory { pauseAccepting() }
                return  // ECONNABORTED and the like: the next wake-up goes on.
            }
            guard case .value(let socket) = accepted else { return }
            admit(socket)
        }
    }

    private func pauseAccepting() {
        acceptResumesAt = MonotonicClock.nowNanoseconds() + Self.acceptBackoff.nanoseconds
        try? reactor.modify(listener, listenerEvents, interest: 0)
    }

    private func admit(_ socket: SocketDescriptor) {
        if connections.count >= Self.maxConnections {
            guard let stalled = connections.first(where: \.isReading) else {
                let busy = AdminResponse(
                    status: "503 Service Unavailable", body: "the admin API is answering \(Self.maxConnections) requests; try again\n")
                _ = try? busy.bytes.withUnsafeBytes { try socket.write($0) }
                socket.close()
                spare.restore()
                return
            }
            close(stalled)
        }
        let connection = AdminConnection(socket: socket, loop: self)
        do { try reactor.register(socket, connection, interest: Reactor.readable | Reactor.readHangup) } catch {
            socket.close()
            spare.restore()
            return
        }
        connections.append(connection)
        deadlines.arm(connection, now: MonotonicClock.nowNanoseconds())
    }
}

/// The listener's readiness, handed to the loop.
private final class ListenerEvents: Pollable {
    private unowned let loop: AdminLoop
    init(loop: AdminLoop) { self.loop = loop }
    override func handleEvent(_ events: UInt32) { loop.acceptPending() }
}
