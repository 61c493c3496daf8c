// Outlier ejection of one endpoint, and the arm's choice around ejected endpoints: pure, no sockets.
import Config
import Telemetry
import EventLoop
import Testing
@testable import Proxy

@Suite struct OutlierDetectorTests {
    static let second: UInt64 = 1_000_000_000
    static let policy = OutlierPolicy(consecutiveFailures: 3, baseEjection: 10 * second, maxEjection: 25 * second, maxEjectedPercent: 50)

    @Test func consecutiveFailuresEjectAndASuccessEndsTheStreak() {
        var state = OutlierState()
        let now = 100 * Self.second
        #expect(state.recordFailure(now: now, policy: Self.policy) == .none)
        #expect(state.recordFailure(now: now, policy: Self.policy) == .none)
        state.recordSuccess()
        #expect(state.recordFailure(now: now, policy: Self.policy) == .none)
        #expect(state.recordFailure(now: now, policy: Self.policy) == .none)
        #expect(state.recordFailure(now: now, policy: Self.policy) == .ejected(until: now + 10 * Self.second))
        #expect(state.isEjected(now: now + 10 * Self.second - 1))
        #expect(!state.isEjected(now: now + 10 * Self.second))
    }

    @Test func failuresWhileEjectedDoNotLengthenTheEjection() {
        var state = OutlierState()
        let now = 100 * Self.second
        for _ in 0..<3 { _ = state.recordFailure(now: now, policy: Self.policy) }
        for _ in 0..<10 { #expect(state.recordFailure(now: now + Self.second, policy: Self.policy) == .none) }
        #expect(!state.isEjected(now: now + 10 * Self.second))
    }

    @Test func ejectionsBackOffUpToTheMaximumAndAreForgivenInRotation() {
        var state = OutlierState()
        var now = 100 * Self.second
        func ejectNow() -> OutlierAction {
            var last = OutlierAction.none
            for _ in 0..<3 { last = state.recordFailure(now: now, policy: Self.policy) }
            return last
        }
        #expect(ejectNow() == .ejected(until: now + 10 * Self.second))
        now += 10 * Self.second  // back at once: the second ejection is twice as long
        #expect(ejectNow() == .ejected(until: now + 20 * Self.second))
        now += 20 * Self.second  // the third would be 30 s: capped at 25
        #expect(ejectNow() == .ejected(until: now + 25 * Self.second))
        // 25 s in rotation forgives two of the three ejections: the next lasts 2 × 10 s.
        now += 25 * Self.second + 25 * Self.second
        #expect(ejectNow() == .ejected(until: now + 20 * Self.second))
        // A long healthy spell forgives them all.
        now += 20 * Self.second + 1000 * Self.second
        #expect(ejectNow() == .ejected(until: now + 10 * Self.second))
    }

    @Test func zeroConsecutiveFailuresNeverEjects() {
        var state = OutlierState()
        var off = Self.policy
        off.consecutiveFailures = 0
        for _ in 0..<100 { #expect(state.recordFailure(now: Self.second, policy: off) == .none) }
    }

    @Test func onlyGatewayStatusesAreFailures() {
        #expect(OutlierState.isGatewayFailure(status: 502))
        #expect(OutlierState.isGatewayFailure(status: 503))
        #expect(OutlierState.isGatewayFailure(status: 504))
        #expect(!OutlierState.isGatewayFailure(status: 500))
        #expect(!OutlierState.isGatewayFailure(status: 404))
        #expect(!OutlierState.isGatewayFailure(status: 200))
    }

    // MARK: the arm around ejected endpoints

    static func pools(_ count: Int, policy: OutlierPolicy = policy) throws -> [UpstreamPool] {
        try (0..<count).map { i in
            let pool = UpstreamPool(
                address: try SocketAddress.resolve(host: "127.0.0.1", port: UInt16(9000 + i)),
                configured: HostPort(host: "127.0.0.1", port: UInt16(9000 + i)), protocolKind: .http1, tls: nil, maxIdle: 1)
            pool.outlierPolicy = policy
            return pool
        }
    }

    static func eject(_ pool: UpstreamPool, now: UInt64) {
        for _ in 0..<policy.consecutiveFailures { pool.recordFailure(now: now) }
    }

    /// The finding: one failure streak took an arm's only endpoint out, and every request got a 503.
    @Test func anArmsOnlyEndpointIsUsedWhileEjected() throws {
        let pools = try Self.pools(1)
        let arm = ArmRuntime(pools: pools, outlier: Self.policy, retry: .default)
        let now = 100 * Self.second
        Self.eject(pools[0], now: now)
        #expect(pools[0].isEjected(now: now))
        for _ in 0..<5 { #expect(arm.pick(now: now) === pools[0]) }
    }

    @Test func ejectedEndpointsAreSkippedUpToTheShareThenAllAreUsed() throws {
        let pools = try Self.pools(4)
        let arm = ArmRuntime(pools: pools, outlier: Self.policy, retry: .default)
        #expect(arm.maxOutOfRotation == 2)
        let now = 100 * Self.second
        Self.eject(pools[0], now: now)
        Self.eject(pools[1], now: now)
        let picked = Set((0..<40).map { _ in ObjectIdentifier(arm.pick(now: now)) })
        #expect(picked == Set([pools[2], pools[3]].map(ObjectIdentifier.init)))
        // A third ejected endpoint is beyond half: panic, every endpoint takes its turn.
        Self.eject(pools[2], now: now)
        let panicked = Set((0..<40).map { _ in ObjectIdentifier(arm.pick(now: now)) })
        #expect(panicked == Set(pools.map(ObjectIdentifier.init)))
        // Their ejections over, the arm is whole again.
        #expect(Set((0..<40).map { _ in ObjectIdentifier(arm.pick(now: now + 10 * Self.second)) }).count == 4)
    }

    @Test func ejectionsAreCountedOnEveryArmListingTheEndpoint() throws {
        let pools = try Self.pools(1)
        let primary = ArmShard(), other = ArmShard()
        pools[0].ejectionShards = [primary, other]
        Self.eject(pools[0], now: Self.second)
        #expect(primary.snapshot().ejections == 1)
        #expect(other.snapshot().ejections == 1)
    }

    @Test func aRetryGoesToAnotherEndpointOfTheArmInRotation() throws {
        let pools = try Self.pools(3)
        let arm = ArmRuntime(pools: pools, outlier: Self.policy, retry: .default)
        let now = 100 * Self.second
        Self.eject(pools[1], now: now)
        for _ in 0..<6 {
            #expect(arm.retryTarget(after: pools[0], retriesSoFar: 0, now: now) === pools[2])
        }
    }

    @Test func anArmOfOneRetriesItsEndpointOnce() throws {
        let pools = try Self.pools(1)
        let arm = ArmRuntime(pools: pools, outlier: Self.policy, retry: .default)
        #expect(arm.retryTarget(after: pools[0], retriesSoFar: 0, now: Self.second) === pools[0])
        #expect(arm.retryTarget(after: pools[0], retriesSoFar: 1, now: Self.second) == nil)
    }
}
