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

    init(agent: ClusterAgent) {
        self.agent = agent
        (config, logger) = agent.settings
        client = EtcdClient(endpoints: config.etcd, tls: config.tls, traffic: agent.traffic)
        membership = Membership(replica: agent.replica, leaseTTLSeconds: Int(config.leaseTTL.components.seconds))
        publishInterval =
            UInt64(config.publishInterval.components.seconds) * 1_000_000_000
            + UInt64(config.publishInterval.components.attoseconds / 1_000_000_000)
    }

    func loop() {
        while true {
            let taken = agent.take()
            if taken.stopping { break }
            let now = MonotonicClock.nowNanoseconds()
            for delivery in taken.inbox { apply(delivery) }
            for action in membership.due(now: now) { perform(action) }
            ensureControlWatch()
            let role = membership.role(now: MonotonicClock.nowNanoseconds())
            if case .leader(let term) = role {
                ensureFleetWatch()
                if let pending = taken.state { writeState(pending, term: term) }
                answer(taken.answers)
            } else {
                stopFleetWatch()
                if !taken.answers.isEmpty { agent.requeue(answers: taken.answers) }
                lookUpReplicaNames(now: now)
            }
            if let record = taken.record { publish(record, now: now) }
            report(role)
            if failed { dropWatches() }
            // A refused connection fails in microseconds: without a pause the agent would spin against a dead etcd.
            usleep(failed ? 200_000 : 10_000)
            failed = false
        }
        controlWatch?.cancel()
        fleetWatch?.cancel()
        if let lease = membership.leaseID { _ = client.revoke(lease: lease) }
        client.close()
    }

    // MARK: - lease and election

    private func perform(_ action: Membership.Action) {
        let sentAt = MonotonicClock.nowNanoseconds()
        switch action {
        case .grantLease(let ttl):
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
            logger.info("cluster: the \(kind == .control ? "control" : "fleet") watch ended (\(why)); reading again")
            if kind == .control { restartControlWatch() } else { stopFleetWatch() }
        }
    }

    private func applyControl(_ event: EtcdEvent) {
        let now = MonotonicClock.nowNanoseconds()
        if event.kv.key == agent.keys.leader {
            let seen = event.kind == .put ? Self.leader(event.kv) : nil
            if seen?.replica != membership.leader?.replica { leaderChanges += 1 }
            membership.leaderSeen(seen)
        } else if event.kv.key == agent.keys.state {
            state = event.kind == .put ? StoredValue(value: event.kv.value, modRevision: event.kv.modRevision, receivedAt: now) : nil
        }
    }

    private func applyFleet(_ event: EtcdEvent) {
        let key = event.kv.key
        if let name = agent.keys.replicaName(of: key) {
            records[name] =
                event.kind == .put
                ? StoredValue(value: event.kv.value, modRevision: event.kv.modRevision, receivedAt: MonotonicClock.nowNanoseconds()) : nil
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
            let leaderKV = range.kvs.first { $0.key == agent.keys.leader }
            let seen = leaderKV.map(Self.leader)
            if seen?.replica != membership.leader?.replica { leaderChanges += 1 }
            membership.leaderSeen(seen)
            state = range.kvs.first { $0.key == agent.keys.state }.map {
                StoredValue(value: $0.value, modRevision: $0.modRevision, receivedAt: MonotonicClock.nowNanoseconds())
            }
            stateKnown = true
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

    private func startWatch(_ kind: ClusterAgent.WatchKind, prefix: String, from revision: Int64) -> EtcdWatch {
        EtcdWatch.start(
            endpoints: config.etcd, tls: config.tls, key: prefix, prefix: true, startRevision: revision, traffic: client.traffic,
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
            membership.leaderSeen(result.ranges.first?.kvs.first.map(Self.leader))
            if let kv = result.ranges.dropFirst().first?.kvs.first {
                state = StoredValue(value: kv.value, modRevision: kv.modRevision, receivedAt: MonotonicClock.nowNanoseconds())
            }
            stateWriteFailure = "the state write was refused: this replica no longer leads, or the state changed under it"
            logger.warning("cluster: \(stateWriteFailure!)")
        case .failure(let error):
            stateWriteFailure = "cannot write the state: \(error)"
            etcdFailed(error)
            agent.requeue(state: pending)
        }
    }

    private func answer(_ answers: [(command: ForwardedCommand, answer: [UInt8])]) {
        for (command, answer) in answers {
            let txn = EtcdTxn(
                compares: [], success: [.delete(command.key), .put(command.answerKey, answer, lease: command.lease)], failure: [])
            // The sender's lease may be gone (it stopped waiting, or died): drop the verb then.
            if case .failure = client.txn(txn) { _ = client.delete(command.key) }
            commands[command.key] = nil
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

    /// A follower's list of live replicas, for /status: names only, every two seconds.
    private func lookUpReplicaNames(now: UInt64) {
        guard now &- lastNamesLook >= 2_000_000_000 || lastNamesLook == 0 else { return }
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
            view.role = role
            view.leader = membership.leader?.replica
            view.lease = membership.leaseID
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
