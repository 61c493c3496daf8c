// What etcd answers with: a key's value and revisions, a range's keys at a revision, a lease, a watch event.

/// One key as etcd stores it. Keys are Canarygate's own (`ClusterKeys`), always UTF-8; values are bytes.
public struct EtcdKeyValue: Sendable, Equatable {
    public var key: String
    /// Empty for a range with `keysOnly` and for a delete event.
    public var value: [UInt8]
    /// The revision that created the key (0: it does not exist, which is what an election compares).
    public var createRevision: Int64
    /// The revision of its last change: the token of a compare-and-swap.
    public var modRevision: Int64
    /// Changes since creation (1 after the first put).
    public var version: Int64
    /// The lease it is bound to; 0 for none.
    public var lease: Int64

    public init(key: String, value: [UInt8], createRevision: Int64, modRevision: Int64, version: Int64, lease: Int64) {
        self.key = key
        self.value = value
        self.createRevision = createRevision
        self.modRevision = modRevision
        self.version = version
        self.lease = lease
    }
}

/// The keys a range found, as of `revision`, the store's revision when it answered: a watch from
/// `revision + 1` misses nothing that happened after the range.
public struct EtcdRange: Sendable, Equatable {
    public var revision: Int64
    /// In key order.
    public var kvs: [EtcdKeyValue]

    public init(revision: Int64, kvs: [EtcdKeyValue]) {
        self.revision = revision
        self.kvs = kvs
    }
}

/// A granted lease: keys put with it vanish `ttl` seconds after its last keep-alive.
public struct EtcdLease: Sendable, Equatable {
    public var id: Int64
    /// The TTL etcd granted, in seconds (it may raise a TTL below its minimum).
    public var ttl: Int

    public init(id: Int64, ttl: Int) {
        self.id = id
        self.ttl = ttl
    }
}

/// One change a watch reports.
public struct EtcdEvent: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case put
        /// Also a lease's expiry removing its keys. `kv` then has the key and `modRevision` only.
        case delete
    }

    public var kind: Kind
    public var kv: EtcdKeyValue

    public init(kind: Kind, kv: EtcdKeyValue) {
        self.kind = kind
        self.kv = kv
    }
}
