// What the cluster agent knows, as a value the control thread reads each tick: role, leader, state, records, verbs.

/// A value read from etcd with its revision and when (monotonic ns) this replica received it.
public struct StoredValue: Sendable, Equatable {
    public var value: [UInt8]
    public var modRevision: Int64
    public var receivedAt: UInt64

    public init(value: [UInt8], modRevision: Int64, receivedAt: UInt64) {
        self.value = value
        self.modRevision = modRevision
        self.receivedAt = receivedAt
    }

    init(_ kv: EtcdKeyValue, receivedAt: UInt64) {
        self.init(value: kv.value, modRevision: kv.modRevision, receivedAt: receivedAt)
    }
}

/// A verb a follower received and left for the leader (`ClusterKeys.command`).
public struct ForwardedCommand: Sendable, Equatable {
    public var key: String
    public var answerKey: String
    public var route: String
    /// `ManualVerb.name`, e.g. "promote --force".
    public var verb: String
    /// The sender's lease: the answer is bound to it, so it vanishes with the sender.
    public var lease: Int64

    public init(key: String, answerKey: String, route: String, verb: String, lease: Int64) {
        self.key = key
        self.answerKey = answerKey
        self.route = route
        self.verb = verb
        self.lease = lease
    }
}

public struct ClusterView: Sendable {
    public var fleet: String
    public var replica: String
    public var role: Membership.Role = .degraded("joining: no lease at etcd yet")
    /// The leader's replica name as last seen (nil: none, or not known yet).
    public var leader: String?
    /// While this replica leads: until when (monotonic ns) it may act on it, whatever `role` said at the last cycle.
    public var leaderUntil: UInt64?
    /// Whether `records` reflects etcd (the leader has read `fleet/` in this term).
    public var fleetKnown = false
    /// The lease this replica holds (forwarded verbs bind their answers to it).
    public var lease: Int64?
    /// The fleet's state document as last read or watched (nil: none yet, or not known yet).
    public var state: StoredValue?
    /// Whether `state` reflects etcd (read since the agent last connected): a nil state then means "none written".
    public var stateKnown = false
    /// Leader only: every live replica's record, by replica name (the fleet watch).
    public var records: [String: StoredValue] = [:]
    /// Live replicas by name: the leader's from its records, the others' from a keys-only look every few seconds.
    public var replicaNames: [String] = []
    /// Leader only: verbs sent to other replicas, not answered yet.
    public var commands: [ForwardedCommand] = []
    /// The etcd endpoint in use.
    public var endpoint: String
    public var leaderChanges = 0
    /// The last failed state write, if the latest one failed (e.g. leadership lost between two ticks).
    public var stateWriteFailure: String?
    /// Why etcd is in doubt at this read (the last request failed and no keep-alive was answered since, or the agent
    /// has waited too long on one); nil when etcd answers. A leader decides no step meanwhile.
    public var etcdInDoubt: String?

    public init(fleet: String, replica: String, endpoint: String) {
        self.fleet = fleet
        self.replica = replica
        self.endpoint = endpoint
    }
}
