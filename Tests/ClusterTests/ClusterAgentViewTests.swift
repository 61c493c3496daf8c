// The agent's view judges the role when it is read, so a leader stops deciding on time even while its agent is blocked.
import Config
import EventLoop
import Foundation
import Logging
import Testing

@testable import Cluster

@Suite struct ClusterAgentViewTests {
    let second: UInt64 = 1_000_000_000

    func agent() -> ClusterAgent {
        ClusterAgent(
            config: ClusterConfig(name: "shop", replica: "a", etcd: [EtcdEndpoint(secure: false, host: "127.0.0.1", port: 2379)]),
            replica: "a", logger: Logger(label: "test"))
    }

    /// The agent last reported a leader whose lease it kept `keptAgo` ns before now (TTL 3 s, leader until 2 s after),
    /// after the failure `failed` (none: nil).
    func reportedLeader(keptAgo: UInt64, failed: String? = nil) -> ClusterAgent {
        let agent = agent()
        var membership = Membership(replica: "a", leaseTTLSeconds: 3)
        membership.leaseGranted(id: 7, ttlSeconds: 3, requestedAt: MonotonicClock.nowNanoseconds() - keptAgo)
        membership.leaderSeen(.init(replica: "a", lease: 7, term: 41))
        if let failed { membership.etcdFailed(failed) }
        agent.update(membership: membership) { $0.role = .leader(term: 41) }
        return agent
    }

    @Test func etcdIsInDoubtAfterAFailureOrWhileTheAgentWaitsOnARequest() {
        #expect(reportedLeader(keptAgo: second / 2).view.etcdInDoubt == nil)
        let failed = reportedLeader(keptAgo: second / 2, failed: "connection refused").view
        #expect(failed.etcdInDoubt == "connection refused" && failed.role == .leader(term: 41))
        let waiting = reportedLeader(keptAgo: second / 2)
        usleep(UInt32(ClusterAgent.requestInDoubt / 1000) + 50_000)
        let view = waiting.view
        #expect(view.etcdInDoubt?.contains("waited") == true && view.role == .leader(term: 41), "\(view.etcdInDoubt ?? "nil")")
    }

    @Test func aLeaderReportedRecentlyStillLeads() {
        #expect(reportedLeader(keptAgo: second / 2).view.role == .leader(term: 41))
    }

    @Test func aLeaderWhoseAgentHasNotReportedSinceItsDeadlineIsDegradedWhenRead() {
        // As when the agent waits out requests a silent partition never answers: the stored role says leader.
        let role = reportedLeader(keptAgo: 2 * second + second / 10).view.role
        #expect(role.name == "degraded", "\(role)")
    }
}
