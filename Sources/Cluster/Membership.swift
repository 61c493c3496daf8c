// Whether this replica leads, follows or is cut off: its lease, the leader key as last seen, and what to ask etcd next.

/// A pure state machine: the agent asks `due(now:)` what to send etcd, reports each answer or failure,
/// and reads `role(now:)`. It never touches a socket or a clock, so every rule is tested on a virtual clock.
///
/// Leadership is the leader key (`ClusterKeys.leader`) created under this replica's lease; its create
/// revision is the leader's **term**, which every state write compares, so a replica that lost the key
/// (its lease expired while it was cut off) can never overwrite the state its successor writes.
///
/// A leader counts itself leader only until `leaseTTL/3` before its lease could expire at etcd: two
/// missed keep-alives in a row and it stops deciding, before etcd could hand the key to another
/// replica. A replica whose lease has lapsed (or that has none yet) is **degraded**: it keeps its
/// last weights and decides nothing, whatever role it had.
public struct Membership: Sendable, Equatable {
    public enum Role: Sendable, Equatable {
        /// This replica runs the rollouts; `term` is the leader key's create revision.
        case leader(term: Int64)
        case follower
        /// Cut off from etcd, or not yet in: why.
        case degraded(String)

        public var name: String {
            switch self {
            case .leader: return "leader"
            case .follower: return "follower"
            case .degraded: return "degraded"
            }
        }
    }

    public enum Action: Sendable, Equatable {
        case grantLease(ttlSeconds: Int)
        case keepAlive(lease: Int64)
        /// The election txn: the leader key absent → create it with this lease; else read it.
        case campaign(lease: Int64)
    }

    /// The leader key as last seen.
    public struct Leader: Sendable, Equatable {
        public var replica: String
        public var lease: Int64
        public var term: Int64

        public init(replica: String, lease: Int64, term: Int64) {
            self.replica = replica
            self.lease = lease
            self.term = term
        }
    }

    struct Lease: Sendable, Equatable {
        var id: Int64
        /// When etcd may expire it at the earliest: the last successful keep-alive's *sending* time plus its TTL.
        var validUntil: UInt64
        var lastKeptAt: UInt64
    }

    public let replica: String
    let ttlNanoseconds: UInt64
    private(set) var lease: Lease?
    /// nil: unknown (not looked since the lease was granted) or known absent, see `leaderKnown`.
    public private(set) var leader: Leader?
    /// Whether `leader` reflects etcd: the election runs only on a known-absent key.
    private(set) var leaderKnown = false
    private var lastFailure: String?

    public init(replica: String, leaseTTLSeconds: Int) {
        self.replica = replica
        ttlNanoseconds = UInt64(max(1, leaseTTLSeconds)) * 1_000_000_000
    }

    public var leaseID: Int64? { lease?.id }
    /// Why the last request to etcd failed, until etcd grants a lease or answers a keep-alive again (nil: none
    /// failed since). A leader keeps its role through such a blip, but what it decides meanwhile may not be stored.
    public var unansweredFailure: String? { lastFailure }
    public var ttlSeconds: Int { Int(ttlNanoseconds / 1_000_000_000) }

    /// What to send etcd now, in order.
    public func due(now: UInt64) -> [Action] {
        guard let lease, now < lease.validUntil else { return [.grantLease(ttlSeconds: ttlSeconds)] }
        var actions: [Action] = []
        if now &- lease.lastKeptAt >= ttlNanoseconds / 3 { actions.append(.keepAlive(lease: lease.id)) }
        if leaderKnown && leader == nil { actions.append(.campaign(lease: lease.id)) }
        return actions
    }

    /// A new lease, asked for at `requestedAt`: the leader key must be read again before any campaign.
    public mutating func leaseGranted(id: Int64, ttlSeconds: Int, requestedAt: UInt64) {
        lease = Lease(id: id, validUntil: requestedAt &+ UInt64(max(0, ttlSeconds)) * 1_000_000_000, lastKeptAt: requestedAt)
        lastFailure = nil
    }

    /// A keep-alive's answer; a TTL of 0 means etcd no longer has the lease (it expired while we were away).
    public mutating func leaseKept(ttlSeconds: Int, requestedAt: UInt64) {
        guard var current = lease else { return }
        guard ttlSeconds > 0 else {
            lostLease("the lease expired at etcd")
            return
        }
        current.validUntil = requestedAt &+ UInt64(ttlSeconds) * 1_000_000_000
        current.lastKeptAt = requestedAt
        lease = current
        lastFailure = nil
    }

    /// The leader key as read or watched; nil: absent (deleted, or never created).
    public mutating func leaderSeen(_ seen: Leader?) {
        leader = seen
        leaderKnown = true
    }

    /// The leader key is to be read again (the control watch restarts): no campaign on stale knowledge.
    public mutating func forgetLeader() {
        leader = nil
        leaderKnown = false
    }

    /// A request failed; the lease stands until it lapses (`role` then says degraded, with this reason).
    public mutating func etcdFailed(_ reason: String) {
        lastFailure = reason
    }

    /// Gives up the lease (graceful stop, or etcd said it is gone): everything bound to it is gone too.
    public mutating func lostLease(_ reason: String) {
        lease = nil
        lastFailure = reason
        if leader?.replica == replica { leader = nil }
        leaderKnown = false
    }

    /// While this replica leads: until when (monotonic ns) it may act as leader, a third of the TTL before
    /// its lease could expire at etcd. A reader of an older `role` checks it against its own clock.
    public var leadsUntil: UInt64? {
        guard let lease, leader?.lease == lease.id else { return nil }
        return lease.validUntil &- ttlNanoseconds / 3
    }

    public func role(now: UInt64) -> Role {
        guard let lease, now < lease.validUntil else {
            return .degraded(lastFailure.map { "no lease at etcd: \($0)" } ?? "joining: no lease at etcd yet")
        }
        if let leader, leader.lease == lease.id {
            // Two missed keep-alives: stop deciding before etcd could give the key to another replica.
            guard now < leadsUntil! else {
                return .degraded("leader without a recent keep-alive: \(lastFailure ?? "etcd did not answer")")
            }
            return .leader(term: leader.term)
        }
        return .follower
    }
}
