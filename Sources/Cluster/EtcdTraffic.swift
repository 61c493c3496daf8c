// Counters of one replica's etcd traffic (requests by operation, bytes each way, errors), for /metrics.
import Synchronization

/// Written by the agent thread and the watch threads, read by the admin thread: relaxed atomics, since
/// each counter only grows and a reader needs no ordering between them.
public final class EtcdTraffic: Sendable {
    /// The `op` label of `canarygate_cluster_etcd_requests_total`.
    public enum Operation: Int, CaseIterable, Sendable {
        case range, put, txn, delete, leaseGrant, leaseKeepAlive, leaseRevoke, watch

        public var label: String {
            switch self {
            case .range: "range"
            case .put: "put"
            case .txn: "txn"
            case .delete: "delete"
            case .leaseGrant: "lease_grant"
            case .leaseKeepAlive: "lease_keepalive"
            case .leaseRevoke: "lease_revoke"
            case .watch: "watch"
            }
        }
    }

    private let requests: InlineArray<8, Atomic<UInt64>>
    private let sent = Atomic<UInt64>(0)
    private let received = Atomic<UInt64>(0)
    private let failures = Atomic<UInt64>(0)

    public init() {
        requests = InlineArray { _ in Atomic(0) }
    }

    /// Requests sent for `operation` (a watch counts once per stream opened).
    public func requests(_ operation: Operation) -> UInt64 { requests[operation.rawValue].load(ordering: .relaxed) }
    /// Bytes written to etcd, HTTP heads included (before TLS).
    public var bytesSent: UInt64 { sent.load(ordering: .relaxed) }
    /// Bytes read from etcd, HTTP heads included (after TLS).
    public var bytesReceived: UInt64 { received.load(ordering: .relaxed) }
    /// Requests that failed, whatever the reason (a watch: each abnormal end).
    public var errors: UInt64 { failures.load(ordering: .relaxed) }

    func count(_ operation: Operation) { requests[operation.rawValue].add(1, ordering: .relaxed) }
    func countSent(_ bytes: Int) { sent.add(UInt64(bytes), ordering: .relaxed) }
    func countReceived(_ bytes: Int) { received.add(UInt64(bytes), ordering: .relaxed) }
    func countError() { failures.add(1, ordering: .relaxed) }
}
