// The cluster agent's thread: a 10 ms cycle of lease, election, watches, state writes, answers and the record.
import Config
import EventLoop
import Foundation
import Logging

/// Everything here belongs to the agent's thread; the agent's `Shared` is the only way in or out.
final class AgentRun: @unchecked Sendable {
    private let agent: ClusterAgent
    private let config: ClusterConfig
    private let logger: Logger
    private let client: EtcdClient
    private var membership: Membership
    private var controlWatch: EtcdWatch?
    private var fleetWatch: EtcdWatch?
    /// The state, records and verbs as this thread knows them (copied to the view every cycle).
    private var state: StoredValue?
    private var stateKnown = false
    /// The revision of the last read of `control/`: watch events at or before it are already in it.
    private var controlReadRevision: Int64 = 0
    private var records: [String: StoredValue] = [:]
    private var commands: [String: ForwardedCommand] = [:]
    private var replicaNames: [String] = []
    private var lastNamesLook: UInt64 = 0
    private var publishedVersion = -1
    private var publishedUnder: Int64?
    private var lastPublishAt: UInt64 = 0
    private var lastRole = ""
    private var leaderChanges = 0
    private var stateWriteFailure: String?
    private let publishInterval: UInt64
    /// Whether a request failed this cycle: the watches are dropped and the next cycle waits longer.
    private var failed = false
    /// Whether the control thread is to be woken once this cycle's view is out (a state or an alarm arrived).
    private var wakeAfterReport = false
    /// The alarms in each replica's record as last seen (the leader's), so that only a new one wakes it.
    private var alarms: [String: [ReplicaAlarm]] = [:]

    init(agent: ClusterAgent) {
        self.agent = agent
        (config, logger) = agent.settings
        client = EtcdClient(endpoints: config.etcd, tls: config.tls, traffic: agent.traffic)
        membership = Membership(replica: agent.replica, leaseTTLSeconds: Int(config.leaseTTL.components.seconds))
        publishInterval = config.publishInterval.nanoseconds
    }

    /// One cycle every 10 ms. After the first failed request a cycle sends nothing more (each request may
    /// wait up to its deadline, and a cycle of several such waits would outlast the leader's lease), and the
    /// leader's writes go only while `membership` still says it leads, checked again before each.
    func loop() {
        while true {
            let taken = agent.take()
            if taken.stopping {
                // The leader's last state goes before its lease does, so that a successor resumes from it.
                if let pending = taken.state, leading(pending.term) { writeState(pending, term: pending.term) }
                break
            }
            failed = false
            let now = MonotonicClock.nowNanoseconds()
            for delivery in taken.inbox { apply(delivery) }
            for action in membership.due(now: now) where !failed { perform(action) }
            if !failed { ensureControlWatch() }
            if case .leader(let term) = membership.role(now: MonotonicClock.nowNanoseconds()) {
                if !failed { ensureFleetWatch() }
                if let pending = taken.state {
                    if failed { agent.requeue(state: pending) } else if leading(term) { writeState(pending, term: term) }
                }
                if failed { agent.requeue(answers: taken.answers) } else { answer(taken.answers, term: term) }
            } else {
                // Answers and states of a leadership this replica no longer holds are dropped with it.
                stopFleetWatch()
                if !failed { lookUpReplicaNames(now: now) }
            }
            if !failed, let record = taken.record { publish(record, now: now) }
            report(membership.role(now: MonotonicClock.nowNanoseconds()))
            if wakeAfterReport { agent.wakeControl() }
            wakeAfterReport = false
            if failed { dropWatches() }
            // A refused connection fails in microseconds: without a pause the agent would spin against a dead etcd.
            usleep(failed ? 200_000 : 10_000)
        }
        controlWatch?.cancel()
        fleetWatch?.cancel()
        if let lease = membership.leaseID { _ = client.revoke(lease: lease) }
        client.close()
    }

    /// Whether this replica still leads in `term` now, by its lease's own clock (not last cycle's role).
    private func leading(_ term: Int64) -> Bool {
        membership.role(now: MonotonicClock.nowNanoseconds()) == .leader(term: term)
    }

    // MARK: - lease and election

    private func perform(_ action: Membership.Action) {
        let sentAt = MonotonicClock.nowNanoseconds()
        switch action {
        case .grantLease(let ttl):
            // A lease that lapsed here may still live at etcd (this thread stalled): give it up, or a leader's key
            // would keep the fleet leaderless for another TTL.
            if let old = membership.leaseID { _ = client.revoke(lease: old) }
            switch client.grantLease(ttlSeconds: ttl) {
            case .success(let lease):
                membership.leaseGranted(id: lease.id, ttlSeconds: lease.ttl, requestedAt: sentAt)
                // The leader key must be read again under the new lease before any campaign.
                restartControlWatch()
            case .failure(let error): etcdFailed(error)
            }
        case .keepAlive(let lease):
            switch client.keepAlive(lease: lease) {
            case .success(let ttl):
                membership.leaseKept(ttlSeconds: ttl, requestedAt: sentAt)
                if ttl == 0 { logger.warning("cluster: etcd no longer has lease \(lease); joining again") }
            case .failure(let error): etcdFailed(error)
            }
        case .campaign(let lease):
            let txn = EtcdTxn(
                compares: [.createRevision(agent.keys.leader, equals: 0)],
                success: [.put(agent.keys.leader, Array(agent.replica.utf8), lease: lease)],
                failure: [.range(agent.keys.leader, prefix: false)])
            switch client.txn(txn) {
            case .success(let result) where result.succeeded:
                membership.leaderSeen(.init(replica: agent.replica, lease: lease, term: result.revision))
            case .success(let result):
                membership.leaderSeen(result.ranges.first?.kvs.first.map(Self.leader))
            case .failure(let error): etcdFailed(error)
            }
        }
    }

    private func etcdFailed(_ error: EtcdError) {
        membership.etcdFailed("\(error)")
        failed = true
    }

    /// After a failed request: a partition can leave a watch's socket silent rather than closed, so both
    /// watches are dropped and, once etcd answers again, read and watched afresh. What the replica knows
    /// of the leader stays (a leader keeps leading through a blip shorter than its lease).
    private func dropWatches() {
        controlWatch?.cancel()
        controlWatch = nil
        stopFleetWatch()
    }

    /// The leader key as read or watched, counting a change of leader.
    private func see(leader seen: Membership.Leader?) {
        if seen?.replica != membership.leader?.replica { leaderChanges += 1 }
        membership.leaderSeen(seen)
    }

    static func leader(_ kv: EtcdKeyValue) -> Membership.Leader {
        .init(replica: String(decoding: kv.value, as: UTF8.self), lease: kv.lease, term: kv.createRevision)
    }

    // MARK: - watches

    private func apply(_ delivery: ClusterAgent.WatchDelivery) {
        switch delivery {
        case .events(.control, let events):
            for event in events { applyControl(event) }
        case .events(.fleet, let events):
            for event in events { applyFleet(event) }
        case .ended(let kind, let why):
            // Not forgetting the leader: an etcd restart ends every watch, and a leader must keep leading through it.
            logger.info("cluster: the \(kind == .control ? "control" : "fleet") watch ended (\(why)); reading again")
            failed = true
        }
    }

    private func applyControl(_ event: EtcdEvent) {
        // An event of a watch replaced since (delivered before it was cancelled) is older than the read that replaced it.
        guard event.kv.modRevision > controlReadRevision else { return }
        let now = MonotonicClock.nowNanoseconds()
        if event.kv.key == agent.keys.leader {
            see(leader: event.kind == .put ? Self.leader(event.kv) : nil)
        } else if event.kv.key == agent.keys.state {
            state = event.kind == .put ? StoredValue(event.kv, receivedAt: now) : nil
            // A follower applies a new state at once (its own writes come back too, and change nothing there).
            wakeAfterReport = true
        }
    }

    private func applyFleet(_ event: EtcdEvent) {
        let key = event.kv.key
        if let name = agent.keys.replicaName(of: key) {
            records[name] =
                event.kind == .put
                ? StoredValue(event.kv, receivedAt: MonotonicClock.nowNanoseconds()) : nil
            // A replica's new alarm is a rollback to start now, not at the next tick.
            let raised = event.kind == .put ? (try? ReplicaRecord.decode(event.kv.value))?.alarms ?? [] : []
            if !raised.isEmpty && raised != alarms[name] { wakeAfterReport = true }
            alarms[name] = raised.isEmpty ? nil : raised
        } else if key.hasPrefix(agent.keys.commands) {
            if event.kind == .delete {
                commands[key] = nil
            } else if let command = ForwardedCommand.decode(key: key, value: event.kv.value) {
                commands[key] = command
            } else {
                _ = client.delete(key)
            }
        }
    }

    /// Reads `control/` (leader and state) and watches it from the revision after the read.
    private func ensureControlWatch() {
        guard controlWatch == nil, membership.leaseID != nil else { return }
        switch client.range(agent.keys.control, prefix: true) {
        case .success(let range):
            see(leader: range.kvs.first { $0.key == agent.keys.leader }.map(Self.leader))
            state = range.kvs.first { $0.key == agent.keys.state }.map { StoredValue($0, receivedAt: MonotonicClock.nowNanoseconds()) }
            stateKnown = true
            controlReadRevision = range.revision
            controlWatch = startWatch(.control, prefix: agent.keys.control, from: range.revision + 1)
        case .failure(let error):
            etcdFailed(error)
        }
    }

    private func restartControlWatch() {
        controlWatch?.cancel()
        controlWatch = nil
        membership.forgetLeader()
    }

    /// The leader's: every record and waiting verb, then a watch on `fleet/`.
    private func ensureFleetWatch() {
        guard fleetWatch == nil else { return }
        switch client.range(agent.keys.fleet, prefix: true) {
        case .success(let range):
            records = [:]
            commands = [:]
            for kv in range.kvs { applyFleet(EtcdEvent(kind: .put, kv: kv)) }
            fleetWatch = startWatch(.fleet, prefix: agent.keys.fleet, from: range.revision + 1)
        case .failure(let error):
            etcdFailed(error)
        }
    }

    private func stopFleetWatch() {
        fleetWatch?.cancel()
        fleetWatch = nil
        records = [:]
        commands = [:]
    }

    /// Through the agent's client: its TLS context (not loaded again per watch) and the endpoint it uses.
    private func startWatch(_ kind: ClusterAgent.WatchKind, prefix: String, from revision: Int64) -> EtcdWatch {
        client.watch(
            prefix, prefix: true, startRevision: revision,
            onEvents: { [agent] events, _ in agent.deliver(.events(kind, events)) },
            onEnd: { [agent] error in agent.deliver(.ended(kind, "\(error)")) })
    }

    // MARK: - the leader's writes

    /// Compares the term (the leader key is still the one this replica created) and the state's revision.
    private func writeState(_ pending: (document: [UInt8], term: Int64), term: Int64) {
        guard pending.term == term else { return }
        let txn = EtcdTxn(
            compares: [.createRevision(agent.keys.leader, equals: term), .modRevision(agent.keys.state, equals: state?.modRevision ?? 0)],
            success: [.put(agent.keys.state, pending.document, lease: nil)],
            failure: [.range(agent.keys.leader, prefix: false), .range(agent.keys.state, prefix: false)])
        switch client.txn(txn) {
        case .success(let result) where result.succeeded:
            state = StoredValue(value: pending.document, modRevision: result.revision, receivedAt: MonotonicClock.nowNanoseconds())
            stateWriteFailure = nil
        case .success(let result):
            let leader = result.ranges.first?.kvs.first.map(Self.leader)
            membership.leaderSeen(leader)
            if let kv = result.ranges.dropFirst().first?.kvs.first {
                state = StoredValue(kv, receivedAt: MonotonicClock.nowNanoseconds())
            }
            if leader?.term == term {
                // Still the leader: only the revision this replica knew was stale. The next cycle writes over the fresh one.
                agent.requeue(state: pending)
            } else {
                stateWriteFailure = "the state write was refused: this replica no longer leads"
                logger.warning("cluster: \(stateWriteFailure!)")
            }
        case .failure(let error):
            stateWriteFailure = "cannot write the state: \(error)"
            etcdFailed(error)
            agent.requeue(state: pending)
        }
    }

    /// Each answer deletes its command and puts the answer under the sender's lease, if this replica still
    /// leads in `term`. A connection failure keeps the answers queued (the command stays known, so the
    /// controller does not carry it out again); a sender whose lease is gone gets no answer.
    private func answer(_ answers: [(command: ForwardedCommand, answer: [UInt8])], term: Int64) {
        for (index, (command, answer)) in answers.enumerated() {
            guard !failed, leading(term) else {
                agent.requeue(answers: Array(answers[index...]))
                return
            }
            let txn = EtcdTxn(
                compares: [.createRevision(agent.keys.leader, equals: term)],
                success: [.delete(command.key), .put(command.answerKey, answer, lease: command.lease)], failure: [])
            switch client.txn(txn) {
            case .success: commands[command.key] = nil
            case .failure(.server(let status, let message)):
                // etcd refused the put (the sender's lease has expired: it stopped waiting, or died).
                logger.info("cluster: no answer to \(command.verb) on \(command.route): etcd said \(status) \(message)")
                _ = client.delete(command.key)
                commands[command.key] = nil
            case .failure(let error):
                etcdFailed(error)
                agent.requeue(answers: Array(answers[index...]))
                return
            }
        }
    }

    // MARK: - the record

    private func publish(_ record: (bytes: [UInt8], version: Int, urgent: Bool), now: UInt64) {
        guard let lease = membership.leaseID else { return }
        // A new lease means the old record vanished with the old one.
        if publishedUnder != lease { publishedVersion = -1 }
        guard record.version != publishedVersion, record.urgent || now &- lastPublishAt >= publishInterval else { return }
        switch client.put(agent.keys.replica(agent.replica), record.bytes, lease: lease) {
        case .success:
            publishedVersion = record.version
            publishedUnder = lease
            lastPublishAt = now
        case .failure(let error): etcdFailed(error)
        }
    }

    /// A follower's list of live replicas, for /status: names only, when asked for, at most every two seconds.
    private func lookUpReplicaNames(now: UInt64) {
        guard now &- lastNamesLook >= 2_000_000_000 || lastNamesLook == 0,
            agent.namesWanted.exchange(false, ordering: .relaxed)
        else { return }
        lastNamesLook = now
        if case .success(let range) = client.range(agent.keys.replicas, prefix: true, keysOnly: true) {
            replicaNames = range.kvs.compactMap { agent.keys.replicaName(of: $0.key) }.sorted()
        }
    }

    private func report(_ role: Membership.Role) {
        if role.name != lastRole {
            logger.info("cluster \(config.name): replica \(agent.replica) is now \(role.name)\(roleDetail(role))")
            lastRole = role.name
        }
        let leading = role.name == "leader"
        agent.update(membership: membership) { view in
            view.leader = membership.leader?.replica
            view.lease = membership.leaseID
            view.leaderUntil = membership.leadsUntil
            view.fleetKnown = leading && fleetWatch != nil
            view.state = state
            view.stateKnown = stateKnown
            view.records = leading ? records : [:]
            view.commands = leading ? commands.values.sorted { $0.key < $1.key } : []
            view.replicaNames = leading ? records.keys.sorted() : replicaNames
            view.endpoint = client.endpoint.description
            view.leaderChanges = leaderChanges
            view.stateWriteFailure = stateWriteFailure
        }
    }

    private func roleDetail(_ role: Membership.Role) -> String {
        switch role {
        case .leader(let term): return " (term \(term))"
        case .follower: return membership.leader.map { " (leader \($0.replica))" } ?? ""
        case .degraded(let why): return ": \(why)"
        }
    }
}
