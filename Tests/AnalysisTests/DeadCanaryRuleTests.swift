// The deterministic dead-canary guard: at least five canary requests in the last second, all failed.

import Testing
@testable import Analysis

@Suite struct DeadCanaryRuleTests {
    let rule = DeadCanaryRule()

    @Test func allOfFiveOrMoreFailedIsDead() {
        let v = rule.evaluate(canaryRequests: 5, canaryFailures: 5)
        #expect(v.judge == "dead-canary")
        #expect(v.outcome == .fail)
        #expect(v.summary == "dead canary: all 5 canary requests of the last second failed")
        #expect(v.evidence == [.init("canary-requests", 5), .init("canary-failures", 5), .init("min-requests", 5)])
        #expect(rule.evaluate(lastSecond: ArmWindow(n: 100, failures: 100)).outcome == .fail)
    }

    @Test func tooFewOrOneSuccessIsNotDead() {
        #expect(rule.evaluate(canaryRequests: 4, canaryFailures: 4).outcome == .pass)
        #expect(rule.evaluate(canaryRequests: 100, canaryFailures: 99).outcome == .pass)
        #expect(rule.evaluate(canaryRequests: 0, canaryFailures: 0).outcome == .pass)
        #expect(DeadCanaryRule(minRequests: 3).isDead(canaryRequests: 3, canaryFailures: 3))
    }
}
