// The etcd traffic counters: the contract's op labels, and counts that add up across threads.
import Dispatch
import Testing

@testable import Cluster

@Suite struct EtcdTrafficTests {
    @Test func theOperationLabelsAreTheMetricsContracts() {
        #expect(
            EtcdTraffic.Operation.allCases.map(\.label) == [
                "range", "put", "txn", "delete", "lease_grant", "lease_keepalive", "lease_revoke", "watch",
            ])
    }

    @Test func countsFromManyThreadsAddUpPerOperation() {
        let traffic = EtcdTraffic()
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for _ in 0..<1000 {
                traffic.count(worker % 2 == 0 ? .put : .watch)
                traffic.countSent(3)
                traffic.countReceived(5)
            }
            if worker == 0 { traffic.countError() }
        }
        #expect(traffic.requests(.put) == 4000 && traffic.requests(.watch) == 4000 && traffic.requests(.range) == 0)
        #expect(traffic.bytesSent == 24000 && traffic.bytesReceived == 40000 && traffic.errors == 1)
    }
}
