// One etcd watch on a thread of its own: a key or a prefix from a revision on, events delivered in order until it ends or is cancelled.
import Config
import Rollout
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A watch is a stream that stays open for as long as it runs, and HTTP/1.1 cannot share a connection
/// between streams, so each watch has its own connection and its own thread (started with the control
/// signals blocked, like a hook's: `HookThread`). The thread waits on the socket without a deadline
/// once the stream is open, since a quiet key is normal; etcd stopping or restarting closes the
/// connection, which ends the watch at once. A partition that leaves the socket silent is noticed by
/// the agent's lease keep-alives (bounded by their request timeout), whose owner then cancels the
/// watch and starts a new one.
///
/// A watch does not restart itself: `onEnd` tells the caller, which ranges again (to learn what it
/// missed) and starts a new watch from that range's revision + 1. A start revision etcd has compacted
/// away ends the watch with `.compacted`, for the same reason.
public final class EtcdWatch: Sendable {
    /// The connection's interrupter, while the stream is open, so `cancel` can wake the thread. Its
    /// lock is also held while a callback runs: `cancel` returning means no callback is running or will run.
    private let open = Mutex<DeadlineConnection.Interrupter?>(nil)
    private let cancelled = Atomic<Bool>(false)
    /// The watch thread's pthread_t, so a `cancel` from inside a callback does not wait for itself.
    private let thread = Atomic<UInt>(0)

    private init() {}

    /// Starts watching `key` (every key under it with `prefix`) from `startRevision` (0: from now).
    ///
    /// `onEvents` gets each batch, in revision order, with the store's revision when etcd sent it.
    /// `onEnd` is called once when the watch ends by itself: etcd closed the stream or canceled the
    /// watch (`.compacted` for a compacted start), no endpoint answered, or a garbled message. Both
    /// run on the watch's thread and should be quick (hand the events to the agent's queue).
    /// When no thread can be created, `onEnd` is called at once, on the caller's thread.
    public static func start(
        endpoints: [EtcdEndpoint], tls: ClusterTLSConfig?, key: String, prefix: Bool, startRevision: Int64,
        traffic: EtcdTraffic, connectTimeout: Duration = .seconds(1),
        onEvents: @escaping @Sendable (_ events: [EtcdEvent], _ revision: Int64) -> Void,
        onEnd: @escaping @Sendable (EtcdError) -> Void
    ) -> EtcdWatch {
        start(
            EtcdGateway(endpoints: endpoints, tls: tls), from: 0, key: key, prefix: prefix, startRevision: startRevision,
            traffic: traffic, connectTimeout: connectTimeout, onEvents: onEvents, onEnd: onEnd)
    }

    /// `start` through a gateway already made (an `EtcdClient`'s), trying its endpoints from `first`.
    static func start(
        _ gateway: EtcdGateway, from first: Int, key: String, prefix: Bool, startRevision: Int64, traffic: EtcdTraffic,
        connectTimeout: Duration, onEvents: @escaping @Sendable ([EtcdEvent], Int64) -> Void,
        onEnd: @escaping @Sendable (EtcdError) -> Void
    ) -> EtcdWatch {
        let watch = EtcdWatch()
        let request = EtcdRequests.encode(EtcdRequests.watch(key, prefix: prefix, startRevision: startRevision))
        let started = HookThread.start {
            watch.thread.store(UInt(pthread_self()), ordering: .releasing)
            traffic.count(.watch)
            let connectDeadline = HookClock.now() + HookClock.nanoseconds(connectTimeout)
            let end = watch.stream(gateway, from: first, request, traffic: traffic, connectDeadline: connectDeadline, onEvents: onEvents)
            watch.open.withLock { $0 = nil }
            guard let end else { return }
            traffic.countError()
            watch.deliver { onEnd(end) }
        }
        if !started {
            traffic.countError()
            onEnd(.unreachable("cannot start a thread for the watch of \(key)"))
        }
        return watch
    }

    /// Stops the watch, from any thread (a callback included). When it returns, no callback is
    /// running or will run, and `onEnd` is not called; the thread closes the connection and exits.
    public func cancel() {
        cancelled.store(true, ordering: .releasing)
        // From inside a callback the lock is already held: the thread sees the flag when the callback returns.
        if pthread_equal(pthread_t(thread.load(ordering: .acquiring)), pthread_self()) != 0 { return }
        open.withLock { $0?.interrupt() }
    }

    /// Runs `callback` unless the watch was cancelled; false when it was.
    @discardableResult
    private func deliver(_ callback: () -> Void) -> Bool {
        open.withLock { _ in
            if cancelled.load(ordering: .acquiring) { return false }
            callback()
            return true
        }
    }

    /// The stream from connect to end; why it ended, or nil once cancelled.
    private func stream(
        _ gateway: EtcdGateway, from first: Int, _ request: [UInt8], traffic: EtcdTraffic, connectDeadline: UInt64,
        onEvents: ([EtcdEvent], Int64) -> Void
    ) -> EtcdError? {
        let connection: GatewayConnection
        switch gateway.connect(from: first, deadline: connectDeadline) {
        case .success(let (opened, _)): connection = opened
        case .failure(let error): return cancelled.load(ordering: .acquiring) ? nil : error
        }
        let registered = open.withLock { open in
            if cancelled.load(ordering: .acquiring) { return false }
            open = connection.interrupter
            return true
        }
        guard registered else { return nil }
        if case .failure(let error) = connection.send(
            path: EtcdRequests.Path.watch, body: request, traffic: traffic, deadline: connectDeadline)
        {
            return cancelled.load(ordering: .acquiring) ? nil : error
        }

        var reader = GatewayResponseReader()
        var splitter = JSONLineSplitter(maxLineBytes: EtcdClient.maxResponseBytes)
        var refusal: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            // The head within the connect deadline; then as long as the key stays quiet.
            let deadline = reader.status == nil ? connectDeadline : UInt64.max
            let step = buffer.withUnsafeMutableBytes { connection.receive(into: $0, traffic: traffic, deadline: deadline) }
            if cancelled.load(ordering: .acquiring) { return nil }
            var messages: [EtcdWatchMessage] = []
            var ended: EtcdError?
            do throws(EtcdError) {
                switch step {
                case .failure(let error): throw error
                // However the response was framed: a watch is over when etcd closes (it stopped, or restarts).
                case .success(0): throw .unreachable("\(connection.endpoint) closed the watch stream")
                case .success(let count):
                    var payload: [UInt8] = []
                    let progress = try buffer.withBytes { bytes throws(EtcdError) in
                        try reader.feed(UnsafeRawBufferPointer(rebasing: bytes[0..<count])) { payload += $0 }
                    }
                    if reader.status == 200 {
                        for line in try payload.withBytes({ bytes throws(EtcdError) in try splitter.append(bytes) }) {
                            messages.append(try EtcdWatchMessage.parse(line))
                        }
                        if progress == .done { ended = .unreachable("\(connection.endpoint) ended the watch stream") }
                    } else if let status = reader.status {
                        refusal += payload.prefix(4096 - min(refusal.count, 4096))
                        if progress == .done { throw EtcdResponses.serverError(status: status, body: refusal) }
                    }
                }
            } catch {
                return error
            }
            for message in messages {
                switch message {
                case .created, .progress: continue
                case .events(let events, let revision):
                    if !deliver({ onEvents(events, revision) }) { return nil }
                case .canceled(let error): return error
                }
            }
            if let ended { return ended }
        }
    }
}
