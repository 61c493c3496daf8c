// An etcd transaction: compares, then the operations to run when they all hold and when one does not.

/// etcd runs a transaction atomically at one revision: the election (`createRevision(leader) == 0` →
/// put leader) and the leader's compare-and-swap of the state (`createRevision(leader) == term` and
/// `modRevision(state) == last seen` → put state) are both one `txn` call.
public struct EtcdTxn: Sendable, Equatable {
    public enum Compare: Sendable, Equatable {
        /// 0 means "the key does not exist".
        case createRevision(String, equals: Int64)
        case modRevision(String, equals: Int64)
        case value(String, equals: [UInt8])
    }

    public enum Operation: Sendable, Equatable {
        case put(String, [UInt8], lease: Int64?)
        case delete(String)
        /// Its answer is one of `EtcdTxnResult.ranges`, in the order of the range operations.
        case range(String, prefix: Bool)
    }

    public var compares: [Compare]
    public var success: [Operation]
    public var failure: [Operation]

    public init(compares: [Compare], success: [Operation], failure: [Operation] = []) {
        self.compares = compares
        self.success = success
        self.failure = failure
    }
}

/// What a transaction did.
public struct EtcdTxnResult: Sendable, Equatable {
    /// Every compare held, so the `success` operations ran (else the `failure` ones).
    public var succeeded: Bool
    /// The store's revision after the transaction (the put's revision when one ran).
    public var revision: Int64
    /// The answers of the range operations that ran, in order.
    public var ranges: [EtcdRange]

    public init(succeeded: Bool, revision: Int64, ranges: [EtcdRange]) {
        self.succeeded = succeeded
        self.revision = revision
        self.ranges = ranges
    }
}
