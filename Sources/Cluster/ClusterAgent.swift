// One thread per replica that talks to etcd: the lease, the election, the watched state, the record, forwarded verbs.
import CLinuxShims
import Config
import EventLoop
import Foundation
import Logging
import Synchronization

/// The control thread never waits on etcd: it hands the agent what to publish and write, and reads
/// `view`, a value the agent refreshes every cycle (10 ms). The agent's requests are synchronous with
/// deadlines (`EtcdClient`), on this thread only; each watch runs on a thread of its own and leaves its
/// events in the agent's inbox. Nothing here runs on a data-plane loop.
///
/// Every replica watches `ClusterKeys.control` (the leader key and the state); the leader also watches
/// `ClusterKeys.fleet` (every replica's record and the verbs left for it). A watch that ends is
/// replaced by a fresh read of its prefix and a watch from the revision after it, so no change is missed.
public final class ClusterAgent: Sendable {
    public let keys: ClusterKeys
    public let replica: String
    private let config: ClusterConfig
    private let logger: Logger
    private let shared: Mutex<Shared>
    private let thread = Mutex<LoopThread?>(nil)
    private let sequence = Atomic<UInt64>(0)
    /// Set when /status or /metrics read the replicas' names: a follower looks them up only then (each
    /// look is every replica's key, so looking on a timer would cost a fleet N² bytes).
    let namesWanted = Atomic<Bool>(true)
    /// Every request this replica sends etcd, the agent's, its watches' and forwarded verbs'.
    public let traffic = EtcdTraffic()
    /// An eventfd the control thread polls beside its signals: the agent pokes it when a state or an alarm
    /// arrives, so that it is acted on at once rather than at the next 100 ms tick.
    public let wakeDescriptor: Int32 = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))

    struct Shared: Sendable {
        var view: ClusterView
        /// The lease and leader as the agent last knew them, and when (monotonic ns), for judging the role and
        /// etcd's health when the view is read.
        var membership: Membership?
        var reportedAt: UInt64 = 0
        /// The latest record to publish, its version, and whether it must go now (an alarm).
        var record: [UInt8]?
        var recordVersion = 0
        var recordUrgent = false
        /// The latest state document the leader produced, under which term.
        var pendingState: (document: [UInt8], term: Int64)?
        var answers: [(command: ForwardedCommand, answer: [UInt8])] = []
        var inbox: [WatchDelivery] = []
        var stopping = false
    }

    enum WatchKind: Sendable { case control, fleet }

    enum WatchDelivery: Sendable {
        case events(WatchKind, [EtcdEvent])
        case ended(WatchKind, String)
    }

    public init(config: ClusterConfig, replica: String, logger: Logger) {
        self.config = config
        self.replica = replica
        self.logger = logger
        keys = ClusterKeys(fleet: config.name)
        shared = Mutex(Shared(view: ClusterView(fleet: config.name, replica: replica, endpoint: config.etcd[0].description)))
    }

    deinit { if wakeDescriptor >= 0 { close(wakeDescriptor) } }

    /// Tells the control thread to tick now.
    func wakeControl() {
        var one: UInt64 = 1
        if wakeDescriptor >= 0 { _ = write(wakeDescriptor, &one, 8) }
    }

    /// Starts the agent's thread (the process's blocked signals stay blocked in it).
    public func start() {
        let run = AgentRun(agent: self)
        thread.withLock { $0 = LoopThread.spawn { run.loop() } }
    }

    /// Gives up the lease (the leader key and this replica's record vanish at once, so a successor is
    /// elected without waiting for the TTL) and stops the thread.
    public func stop() {
        shared.withLock { $0.stopping = true }
        thread.withLock {
            $0?.join()
            $0 = nil
        }
    }

    /// The role is judged again at each read: the agent may be waiting out a request that etcd does not answer
    /// (a silent partition: each one takes its deadline), and a leader must stop deciding by its own deadline,
    /// however long the agent is blocked. Without this a cut-off leader kept leading past its lease, beside its successor.
    /// etcd is in doubt while its last answer was a failure, or while the agent has not come round for this long:
    /// it waits on a request, which etcd answers in milliseconds when healthy. A cut-off leader thus stops
    /// stepping within a publish interval and this, rather than when its lease is in doubt (up to 2/3 of the TTL).
    public static let requestInDoubt: UInt64 = 250_000_000

    public var view: ClusterView {
        shared.withLock { s in
            var view = s.view
            guard let membership = s.membership else { return view }
            let now = MonotonicClock.nowNanoseconds()
            view.role = membership.role(now: now)
            if let failure = membership.unansweredFailure {
                view.etcdInDoubt = failure
            } else if now &- s.reportedAt > Self.requestInDoubt {
                view.etcdInDoubt = "a request to etcd has waited \((now &- s.reportedAt) / 1_000_000) ms for an answer"
            }
            return view
        }
    }

    /// The view, and a follower's fresh look at the replicas' names soon after (for /status and /metrics).
    public var viewWithNames: ClusterView {
        namesWanted.store(true, ordering: .relaxed)
        return view
    }

    /// This replica's record; `urgent` (an alarm) sends it at once rather than at the next publish interval.
    public func publish(record: [UInt8], urgent: Bool) {
        shared.withLock {
            // The controller hands over only a changed record (`publishRecord`).
            $0.record = record
            $0.recordVersion += 1
            $0.recordUrgent = $0.recordUrgent || urgent
        }
    }

    /// The leader's new state document, written with a compare on `term` (only the newest is kept).
    public func writeState(_ document: [UInt8], term: Int64) {
        shared.withLock { $0.pendingState = (document, term) }
    }

    /// The leader's answer to a forwarded verb.
    public func answer(_ command: ForwardedCommand, with answer: [UInt8]) {
        shared.withLock {
            // The command stays in the view until etcd has the answer: the controller must not carry it out again.
            $0.answers.append((command, answer))
        }
    }

    // MARK: - forwarding a verb (on the caller's thread)

    public enum ForwardFailure: Error, CustomStringConvertible {
        case notConnected(String)
        case noAnswer(String)

        public var description: String {
            switch self {
            case .notConnected(let why), .noAnswer(let why): return why
            }
        }
    }

    /// Leaves `verb` for the leader and waits for its answer (the JSON it wrote), up to `timeout`. Uses a
    /// connection of its own: the caller (the admin thread) may wait while the agent goes on.
    public func forward(route: String, verb: String, timeout: Duration = .seconds(5)) -> Result<[UInt8], ForwardFailure> {
        let view = self.view
        guard let lease = view.lease, view.role.name != "degraded" else {
            return .failure(.notConnected("cluster degraded: \(Self.reason(view.role)); the verb cannot reach the leader"))
        }
        // The lease in the id: a process restarted under the same name must not read its predecessor's answer.
        let id = "\(lease)-\(sequence.add(1, ordering: .relaxed).newValue)"
        let commandKey = keys.command(from: replica, id: id)
        let answerKey = keys.answer(to: replica, id: id)
        let body = ForwardedCommand.encode(route: route, verb: verb, lease: lease, answerKey: answerKey)
        let client = EtcdClient(endpoints: config.etcd, tls: config.tls, traffic: traffic)
        defer { client.close() }
        if case .failure(let error) = client.put(commandKey, body, lease: lease) {
            return .failure(.notConnected("cannot reach etcd to forward the verb: \(error)"))
        }
        let deadline = MonotonicClock.nowNanoseconds() &+ timeout.nanoseconds
        while MonotonicClock.nowNanoseconds() < deadline {
            if case .success(let range) = client.range(answerKey), let answer = range.kvs.first {
                _ = client.delete(answerKey)
                return .success(answer.value)
            }
            usleep(20_000)
        }
        _ = client.delete(commandKey)
        return .failure(
            .noAnswer("the leader (\(view.leader ?? "none")) did not answer within \(timeout); it may still carry the verb out"))
    }

    static func reason(_ role: Membership.Role) -> String {
        if case .degraded(let why) = role { return why }
        return role.name
    }

    // MARK: - shared state, for AgentRun

    func take() -> (
        record: (bytes: [UInt8], version: Int, urgent: Bool)?, state: (document: [UInt8], term: Int64)?,
        answers: [(command: ForwardedCommand, answer: [UInt8])], inbox: [WatchDelivery], stopping: Bool
    ) {
        shared.withLock { s in
            defer {
                s.pendingState = nil
                s.answers = []
                s.inbox = []
                s.recordUrgent = false
            }
            return (s.record.map { ($0, s.recordVersion, s.recordUrgent) }, s.pendingState, s.answers, s.inbox, s.stopping)
        }
    }

    func deliver(_ delivery: WatchDelivery) { shared.withLock { $0.inbox.append(delivery) } }

    func update(membership: Membership, _ body: (inout ClusterView) -> Void) {
        shared.withLock {
            $0.membership = membership
            $0.reportedAt = MonotonicClock.nowNanoseconds()
            body(&$0.view)
        }
    }

    /// A state write that lost its leadership is not retried; one the connection lost is, if still current.
    func requeue(state: (document: [UInt8], term: Int64)) {
        shared.withLock { if $0.pendingState == nil { $0.pendingState = state } }
    }

    func requeue(answers: [(command: ForwardedCommand, answer: [UInt8])]) {
        shared.withLock { $0.answers = answers + $0.answers }
    }

    var settings: (config: ClusterConfig, logger: Logger) { (config, logger) }
}

extension ForwardedCommand {
    /// The command key's JSON value.
    static func encode(route: String, verb: String, lease: Int64, answerKey: String) -> [UInt8] {
        let object: [String: Any] = ["route": route, "verb": verb, "lease": String(lease), "answer": answerKey]
        return [UInt8]((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data())
    }

    /// nil for a value that is not a command this version understands (it is then deleted unanswered).
    static func decode(key: String, value: [UInt8]) -> ForwardedCommand? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(value)) as? [String: Any],
            let route = object["route"] as? String, let verb = object["verb"] as? String,
            let lease = (object["lease"] as? String).flatMap({ Int64($0) }), let answer = object["answer"] as? String
        else { return nil }
        return ForwardedCommand(key: key, answerKey: answer, route: route, verb: verb, lease: lease)
    }
}
