// The etcd key layout of one fleet: the leader, the rollout state, each replica's record, forwarded verbs.

/// Every replica watches `control` (the leader key and the state); the leader also watches `fleet`
/// (the replicas' records and the verbs sent to other replicas). Keeping the records out of `control`
/// means a follower never receives the other replicas' evidence: with N replicas the evidence costs
/// N deliveries per publication, not N².
public struct ClusterKeys: Sendable, Equatable {
    /// `/canarygate/<fleet name>/`.
    public let prefix: String

    public init(fleet name: String) {
        prefix = "/canarygate/\(name)/"
    }

    public var control: String { prefix + "control/" }
    /// The leader's replica name, bound to the leader's lease: it vanishes when the leader does.
    public var leader: String { control + "leader" }
    /// The fleet's rollout state (every managed route), written by the leader only; no lease.
    public var state: String { control + "state" }

    public var fleet: String { prefix + "fleet/" }
    public var replicas: String { fleet + "replicas/" }
    /// A replica's record (evidence, alarms, config fingerprint), bound to its lease.
    public func replica(_ name: String) -> String { replicas + name }
    public var commands: String { fleet + "commands/" }
    /// A verb a follower received, for the leader to carry out; bound to the sender's lease.
    public func command(from replica: String, id: String) -> String { commands + "\(replica)/\(id)" }
    /// The leader's answer to that verb, bound to the sender's lease too.
    public func answer(to replica: String, id: String) -> String { prefix + "answers/\(replica)/\(id)" }

    /// The name in a replica record's key, or nil for another key.
    public func replicaName(of key: String) -> String? {
        key.hasPrefix(replicas) ? String(key.dropFirst(replicas.count)) : nil
    }

    /// etcd's `range_end` for every key under `prefix`: the prefix with its last byte incremented
    /// (a trailing 0xFF byte is dropped and the one before incremented).
    public static func rangeEnd(ofPrefix prefix: String) -> [UInt8] {
        var bytes = Array(prefix.utf8)
        while let last = bytes.last {
            if last < 0xFF {
                bytes[bytes.count - 1] = last + 1
                return bytes
            }
            bytes.removeLast()
        }
        // Every byte 0xFF (or empty): "to the end of the keyspace", which etcd spells as a single zero byte.
        return [0]
    }
}
