// When a failed attempt may be sent again, and the arm's retry budget: pure, no sockets.
import HTTP
import Telemetry
import Testing
@testable import Proxy

@Suite struct RetryRuleTests {
    static func attempt(
        _ kind: FailureKind, method: HTTPMethod = .get, replayable: Bool = true, received: Bool = false,
        retries: Int = 0
    ) -> FailedAttempt {
        FailedAttempt(kind: kind, retriesSoFar: retries, responseBytesReceived: received, replayable: replayable, method: method)
    }

    @Test(arguments: [FailureKind.connectRefused, .connectFailed, .connectTimeout, .tlsHandshakeFailed])
    func connectFailuresAreRetriedForAnyRequest(kind: FailureKind) {
        #expect(Self.attempt(kind, method: .post, replayable: false).mayRetry(policy: .default))
    }

    @Test func afterSendingOnlyBodylessIdempotentRequestsAreRetried() {
        for method in [HTTPMethod.get, .head, .options, .trace, .put, .delete] {
            #expect(Self.attempt(.upstreamReset, method: method).mayRetry(policy: .default), "\(method)")
            #expect(Self.attempt(.upstreamClosed, method: method).mayRetry(policy: .default), "\(method)")
            #expect(!Self.attempt(.upstreamReset, method: method, replayable: false).mayRetry(policy: .default), "\(method) with a body")
        }
        for method in [HTTPMethod.post, .patch, .other] {
            #expect(!Self.attempt(.upstreamReset, method: method).mayRetry(policy: .default), "\(method)")
        }
    }

    @Test func noRetryAfterAResponseByteOrATimeoutOrBeyondTheAttempts() {
        #expect(!Self.attempt(.upstreamReset, received: true).mayRetry(policy: .default))
        #expect(!Self.attempt(.responseTimeout).mayRetry(policy: .default))
        #expect(!Self.attempt(.invalidResponse).mayRetry(policy: .default))
        #expect(!Self.attempt(.connectRefused, retries: 1).mayRetry(policy: .default))
        var none = RetryPolicy.default
        none.attempts = 0
        #expect(!Self.attempt(.connectRefused).mayRetry(policy: none))
    }

    static let second: UInt64 = 1_000_000_000

    @Test func theBudgetIsAShareOfRecentRequestsPlusAFloor() {
        let policy = RetryBudgetPolicy(percent: 20, minPerSecond: 1)
        var budget = RetryBudget()
        let now = 50 * Self.second
        for _ in 0..<100 { budget.requestStarted(now: now) }
        // 20 % of 100 requests, plus 1 per second of the 10-second window.
        var granted = 0
        for _ in 0..<100 where budget.tryRetry(now: now, policy: policy) { granted += 1 }
        #expect(granted == 30)
        // Ten seconds later the window holds none of it: the floor alone.
        granted = 0
        for _ in 0..<100 where budget.tryRetry(now: now + 10 * Self.second, policy: policy) { granted += 1 }
        #expect(granted == 10)
    }

    @Test func aZeroBudgetGrantsNothing() {
        var budget = RetryBudget()
        for _ in 0..<1000 { budget.requestStarted(now: Self.second) }
        let granted = budget.tryRetry(now: Self.second, policy: RetryBudgetPolicy(percent: 0, minPerSecond: 0))
        #expect(!granted)
    }

    @Test func theAttemptLogMarksTheRequestFailed() {
        var log = AttemptLog()
        #expect(!log.hidFailure)
        log.retried()
        #expect(log.hidFailure && log.retries == 1)
    }
}
