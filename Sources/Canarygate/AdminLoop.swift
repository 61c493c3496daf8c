// The admin API's own epoll loop: connections served side by side on one thread, at most 32, each with 2 s deadlines,
// and up to 16 event streams (GET /events) pushed an update every second.
import EventLoop
import Glibc
import Synchronization

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

    /// Between two updates of the event streams.
    static let updateInterval = Duration.seconds(1)

    let reactor: Reactor
    let deadlines = DeadlineList(duration: AdminLoop.deadline)
    let respond: (AdminRequest, AdminConnection) -> AdminResponse
    private let feed: EventStreamFeed
    private let streamCounters: EventStreamCounters
    private let listener: SocketDescriptor
    private var listenerEvents: ListenerEvents!
    /// In accept order, so the first one reading is the oldest.
    private var connections: [AdminConnection] = []
    /// Event streams, in the order they opened: counted apart from `connections`, never stalled-dropped by them.
    private var streams: [AdminConnection] = []
    private var nextUpdateAt: UInt64?
    private var acceptResumesAt: UInt64?
    /// Given up to accept when clients hold every other descriptor, so `/healthz` still answers;
    /// taken back when a connection closes.
    private let spare = SpareDescriptor()

    init(
        listener: SocketDescriptor, feed: EventStreamFeed, streamCounters: EventStreamCounters,
        respond: @escaping (AdminRequest, AdminConnection) -> AdminResponse
    ) throws(Errno) {
        reactor = try Reactor()
        self.listener = listener
        self.feed = feed
        self.streamCounters = streamCounters
        self.respond = respond
        listenerEvents = ListenerEvents(loop: self)
        try reactor.register(listener, listenerEvents, interest: Reactor.readable)
    }

    /// Serves until `isStopping()` (checked at least every 200 ms), then closes every connection.
    func run(isStopping: () -> Bool) {
        while !isStopping() {
            let now = MonotonicClock.nowNanoseconds()
            let wakeAt = [deadlines.earliest, acceptResumesAt, nextUpdateAt, now + 200_000_000].compactMap { $0 }.min()!
            let timeout = Int32(wakeAt > now ? (wakeAt - now + 999_999) / 1_000_000 : 0)
            _ = try? reactor.poll(timeoutMilliseconds: timeout)
            let after = MonotonicClock.nowNanoseconds()
            deadlines.expire(now: after)
            if let resume = acceptResumesAt, after >= resume {
                acceptResumesAt = nil
                try? reactor.modify(listener, listenerEvents, interest: Reactor.readable)
            }
            if let due = nextUpdateAt, after >= due { pushUpdates(now: after) }
        }
        for connection in connections + streams { close(connection) }
        reactor.deregister(listenerEvents)
    }

    func close(_ connection: AdminConnection) {
        guard connection.isRegistered else { return }
        reactor.deregister(connection)
        connection.cancelDeadline()
        connection.socket.close()
        connections.removeAll { $0 === connection }
        if let index = streams.firstIndex(where: { $0 === connection }) {
            streams.remove(at: index)
            streamCounters.open.store(streams.count, ordering: .relaxed)
            if streams.isEmpty { nextUpdateAt = nil }
        }
        spare.restore()
    }

    /// `connection` passed the rules for GET /events with `credential`: it leaves the request connections for the
    /// streams (the oldest streams closed past `EventStreamRoster.limit`) and gets the snapshot.
    func startStream(_ connection: AdminConnection, credential: EventStreamCredential) {
        connections.removeAll { $0 === connection }
        streams.append(connection)
        for oldest in streams[EventStreamRoster.excess(count: streams.count)] {
            streamCounters.dropped(.excess)
            close(oldest)
        }
        streamCounters.open.store(streams.count, ordering: .relaxed)
        let page = feed.snapshotTimeline()
        connection.beginStream(
            first: EventStreamFeedMessage.snapshot.bytes(status: feed.status(), timeline: page.json), since: page.now,
            credential: credential)
        if nextUpdateAt == nil { nextUpdateAt = MonotonicClock.nowNanoseconds() + Self.updateInterval.nanoseconds }
    }

    /// One update to every stream: /status once, the timeline once for each distinct point the streams have
    /// seen up to (normally one: they all got the last update). A stream too far behind is dropped, and so is one
    /// whose credential no longer holds (its session expired, or a reload changed the tokens): the browser
    /// reconnects and is checked again.
    private func pushUpdates(now: UInt64) {
        let admin = feed.admin()
        let unixNow = Int(ServerState.unixTime())
        for stream in streams where !(stream.streamCredential?.holds(admin: admin, now: unixNow) ?? false) { close(stream) }
        nextUpdateAt = streams.isEmpty ? nil : now + Self.updateInterval.nanoseconds
        guard !streams.isEmpty else { return }
        let status = feed.status()
        var messages: [Double?: (bytes: [UInt8], now: Double)] = [:]
        for stream in streams {
            let since = stream.streamedSince
            let message =
                messages[since]
                ?? {
                    let page = feed.timeline(since: since)
                    let rendered = (EventStreamFeedMessage.update.bytes(status: status, timeline: page.json), page.now)
                    messages[since] = rendered
                    return rendered
                }()
            if !stream.push(message.bytes, since: message.now) {
                if stream.isRegistered { streamCounters.dropped(.slow) }
                close(stream)
            }
        }
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
