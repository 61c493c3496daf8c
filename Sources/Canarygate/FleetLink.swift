// A fleet replica's side of its rollouts: the agent, the merged evidence, the local guard, what it last applied.
import Analysis
import Cluster
import Config
import Foundation
import Rollout
import Telemetry

/// Held by the `RolloutController` of a replica started with `cluster:`. Only the leader's machines run;
/// a follower's mirror the state the leader wrote, so that /status reads alike on every replica.
final class FleetLink {
    let agent: ClusterAgent
    /// This process's run: a replica restarted counts from zero again, which the leader's merger must know.
    let incarnation: String
    let admin: String
    /// The term this replica leads in, once it has taken over the stored state.
    var ledTerm: Int64?
    /// The leader's: every replica's counters summed, monotone across restarts and departures.
    private var merger = EvidenceMerger()
    /// The state revision a follower last applied.
    var appliedRevision: Int64?
    /// Each managed route's local dead-canary guard, with the counts of the previous tick.
    var guards: [String: LocalGuard] = [:]
    /// Routes whose canary this replica dropped to 0 on what it saw itself, with the revision and why.
    var drops: [String: ReplicaAlarm] = [:]
    /// Per route, why the leader does not advance it (replicas disagree on revisions).
    var disagreements: [(route: String, sentence: String)] = []
    /// The leader's: whether it holds every route because etcd is in doubt (`ClusterView.etcdInDoubt`).
    var holdingForEtcd = false
    /// The fingerprint of this replica's managed routes (published in its record).
    var fingerprint: ConfigFingerprint
    /// The other replicas' records and counters as last decoded, by name, with the revision they were decoded
    /// at: a record is decoded once per publication, not on every tick.
    private var decoded: [String: (modRevision: Int64, record: ReplicaRecord, evidence: ReplicaEvidence?)] = [:]
    /// The last merge, and what it was made of: a tick in which no record and none of this replica's counters
    /// changed (an idle fleet) reuses it.
    private var lastMerge: (revisions: [String: Int64], local: [RouteSnapshot], result: MetricsSnapshot)?

    /// A new term: its own merger (whose first look is its baseline), no verb answered yet.
    func beginTerm(_ term: Int64) {
        ledTerm = term
        merger = EvidenceMerger()
        lastMerge = nil
        answered = []
    }

    /// The records of `view` other than this replica's own, decoded (an undecodable one is left out).
    func otherRecords(_ records: [String: StoredValue]) -> [ReplicaRecord] {
        decoded = decoded.filter { records[$0.key] != nil }
        var result: [ReplicaRecord] = []
        for (name, stored) in records where name != agent.replica {
            if let cached = decoded[name], cached.modRevision == stored.modRevision {
                result.append(cached.record)
            } else if let record = try? ReplicaRecord.decode(stored.value) {
                decoded[name] = (stored.modRevision, record, try? record.replicaEvidence())
                result.append(record)
            }
        }
        return result.sorted { $0.replica < $1.replica }
    }

    /// Every replica's counters summed: this replica's own (`local`, its managed routes) and the others' as
    /// last decoded by `otherRecords`.
    func mergedEvidence(local: MetricsSnapshot) -> MetricsSnapshot {
        let managed = Set(fingerprint.revisions.keys)
        let own = local.routes.filter { managed.contains($0.name) }
        let revisions = decoded.mapValues(\.modRevision)
        if let last = lastMerge, last.revisions == revisions, last.local == own { return last.result }
        var replicas = decoded.keys.sorted().compactMap { decoded[$0]!.evidence }
        replicas.append(ReplicaEvidence(replica: agent.replica, incarnation: incarnation, routes: own))
        let sum = merger.merge(replicas)
        let result = MetricsSnapshot(routes: sum.keys.sorted().map { sum[$0]! })
        lastMerge = (revisions, own, result)
        return result
    }

    /// The record last handed to the agent.
    var lastPublished: ReplicaRecord?
    /// Forwarded verbs answered and not yet gone from the agent's view (so none is carried out twice).
    var answered: Set<String> = []

    init(agent: ClusterAgent, admin: String, config: CanarygateConfig) {
        self.agent = agent
        self.admin = admin
        incarnation = ReplicaRecord.randomIncarnation()
        fingerprint = ConfigFingerprint(config)
    }

    struct LocalGuard {
        var rule = DeadCanaryRule()
        var last: RouteSnapshot
    }

    /// Feeds the tick's local counts of a route whose canary takes traffic here; the alarm when every canary
    /// request of the last second failed.
    func guardTick(
        route: String, revision: String?, rolloutNumber: Int? = nil, current: RouteSnapshot, judging: Bool, now: UInt64
    ) -> ReplicaAlarm? {
        guard judging, let revision else {
            guards[route] = nil
            return nil
        }
        guard var g = guards[route] else {
            guards[route] = LocalGuard(last: current)
            return nil
        }
        let delta = current.delta(since: g.last)
        g.last = current
        let verdict = g.rule.observe(canary: ArmWindow(delta.canary), now: now)
        guards[route] = g
        return verdict.map { ReplicaAlarm(route: route, revision: revision, rolloutNumber: rolloutNumber, reason: $0.summary) }
    }

    /// This replica's record as the agent publishes it.
    func record(local: MetricsSnapshot) -> ReplicaRecord {
        let managed = Set(fingerprint.revisions.keys)
        return ReplicaRecord(
            replica: agent.replica, incarnation: incarnation, configHash: fingerprint.hash, revisions: fingerprint.revisions,
            evidence: EvidenceCodec.encode(local.routes.filter { managed.contains($0.name) }),
            alarms: drops.values.sorted { $0.route < $1.route },
            admin: admin, publishedAt: Date().timeIntervalSince1970)
    }
}

extension ManualVerb {
    /// The verb `name` spells (how a forwarded verb travels through etcd).
    init?(name: String) {
        switch name {
        case "pause": self = .pause
        case "resume": self = .resume
        case "promote": self = .promote(force: false)
        case "promote --force": self = .promote(force: true)
        case "abort": self = .abort
        case "retry": self = .retry
        case "undo": self = .undo
        default: return nil
        }
    }
}
