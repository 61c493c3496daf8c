// The lease and election rules of a replica, on a virtual clock.
import Cluster
import Testing

@Suite struct MembershipTests {
    let second: UInt64 = 1_000_000_000

    func joined(_ name: String = "a", lease: Int64 = 7, at now: UInt64 = 0) -> Membership {
        var m = Membership(replica: name, leaseTTLSeconds: 3)
        m.leaseGranted(id: lease, ttlSeconds: 3, requestedAt: now)
        return m
    }

    @Test func withoutALeaseItAsksForOneAndIsDegraded() {
        let m = Membership(replica: "a", leaseTTLSeconds: 3)
        #expect(m.due(now: 0) == [.grantLease(ttlSeconds: 3)])
        #expect(m.role(now: 0).name == "degraded")
    }

    @Test func campaignsOnlyOnAKnownAbsentLeaderKey() {
        var m = joined()
        #expect(m.due(now: 1) == [])
        #expect(m.role(now: 1) == .follower)
        m.leaderSeen(nil)
        #expect(m.due(now: 1) == [.campaign(lease: 7)])
        m.leaderSeen(.init(replica: "b", lease: 9, term: 40))
        #expect(m.due(now: 1) == [])
        #expect(m.role(now: 1) == .follower)
    }

    @Test func leadsWhenTheLeaderKeyCarriesItsOwnLease() {
        var m = joined()
        m.leaderSeen(.init(replica: "a", lease: 7, term: 41))
        #expect(m.role(now: second) == .leader(term: 41))
        // The same name under another lease is an earlier process of this replica: not us.
        m.leaderSeen(.init(replica: "a", lease: 3, term: 12))
        #expect(m.role(now: second) == .follower)
    }

    @Test func keepsAliveEveryThirdOfTheTTL() {
        var m = joined()
        #expect(m.due(now: second - 1) == [])
        #expect(m.due(now: second) == [.keepAlive(lease: 7)])
        m.leaseKept(ttlSeconds: 3, requestedAt: second)
        #expect(m.due(now: second + 1) == [])
    }

    @Test func aLeaderWithoutKeepAlivesStepsDownBeforeItsLeaseCanExpire() {
        var m = joined()
        m.leaderSeen(.init(replica: "a", lease: 7, term: 41))
        m.etcdFailed("connection refused")
        #expect(m.role(now: 2 * second - 1) == .leader(term: 41))
        guard case .degraded(let why) = m.role(now: 2 * second) else {
            Issue.record("still leading")
            return
        }
        #expect(why.contains("connection refused"))
        // Past the lease: degraded, and a new lease is asked for.
        #expect(m.role(now: 3 * second).name == "degraded")
        #expect(m.due(now: 3 * second) == [.grantLease(ttlSeconds: 3)])
    }

    @Test func aFailedRequestStandsUntilEtcdAnswersAKeepAliveWhileTheLeaderKeepsItsRole() {
        var m = joined()
        m.leaderSeen(.init(replica: "a", lease: 7, term: 41))
        #expect(m.unansweredFailure == nil)
        m.etcdFailed("connection refused")
        #expect(m.unansweredFailure == "connection refused")
        #expect(m.role(now: second) == .leader(term: 41))
        m.leaseKept(ttlSeconds: 3, requestedAt: second)
        #expect(m.unansweredFailure == nil)
        m.etcdFailed("timed out")
        m.leaseGranted(id: 8, ttlSeconds: 3, requestedAt: 2 * second)
        #expect(m.unansweredFailure == nil)
    }

    @Test func aLeaseEtcdNoLongerHasEndsLeadershipAtOnce() {
        var m = joined()
        m.leaderSeen(.init(replica: "a", lease: 7, term: 41))
        m.leaseKept(ttlSeconds: 0, requestedAt: second)
        #expect(m.role(now: second).name == "degraded")
        #expect(m.leader == nil)
        #expect(m.due(now: second) == [.grantLease(ttlSeconds: 3)])
        // A new lease must look at the leader key again before campaigning.
        m.leaseGranted(id: 8, ttlSeconds: 3, requestedAt: second)
        #expect(m.due(now: second) == [])
    }

    @Test func forgettingTheLeaderStopsCampaigning() {
        var m = joined()
        m.leaderSeen(nil)
        m.forgetLeader()
        #expect(m.due(now: 1) == [])
    }
}
