// The confirm-* gates: they hold a rollout (Waiting, held weight, WaitingPromotion) without failing it.
import Analysis
import Config
import Rollout
import Testing

@Suite struct RolloutMachineGateTests {
    @Test func confirmRolloutHoldsInWaitingAndIsReaskedEveryInterval() {
        var h = Harness(nil)
        h.hookOutcome[.confirmRollout] = false
        h.drive(.configured(primaryRevision: "v1", canaryRevision: "v2", analysis: withHooks(.confirmRollout)))
        #expect(h.state.phase == .waiting)
        #expect(h.state.canaryWeight == 0)
        #expect(h.state.message == "waiting for confirm-rollout: confirm-rollout said no")
        h.clearLog()
        h.advance(300)
        // Approval gates wait as long as it takes (as in Flagger): no progressDeadline here.
        #expect(h.state.phase == .waiting)
        #expect(h.hookCalls.count == 30)
        #expect(!h.log.contains(.probeCanaryReadiness))
        h.hookOutcome[.confirmRollout] = true
        h.advance(10)
        #expect(h.state.phase == .progressing)
        #expect(h.state.canaryWeight == 25)
        // The deadline counts from the approval, not from the start.
        h.defaultVerdicts = [noData()]
        h.advance(59)
        #expect(h.state.phase == .progressing)
    }

    @Test func confirmRolloutIsAskedOnlyOnceReady() {
        var h = Harness(nil)
        h.autoAnswer = false
        h.send(.configured(primaryRevision: "v1", canaryRevision: "v2", analysis: withHooks(.confirmRollout)))
        let notReady = h.send(.canaryReady(false))
        #expect(notReady.isEmpty)
        let ready = h.send(.canaryReady(true))
        #expect(ready.requests == [.runHooks(.confirmRollout)])
        #expect(h.state.phase == .initializing, "Waiting only once the gate has said no")
        // While the gate is asked, the readiness deadline does not apply.
        h.now = 120 * second
        #expect(h.send(.tick(now: h.now)).isEmpty)
    }

    @Test func confirmTrafficIncreaseHoldsTheWeightWithoutFailing() {
        var h = Harness(nil)
        h.hookOutcome[.confirmTrafficIncrease] = false
        h.drive(.configured(primaryRevision: "v1", canaryRevision: "v2", analysis: withHooks(.confirmTrafficIncrease)))
        h.advance(100)
        #expect(h.state.phase == .progressing)
        #expect(h.state.canaryWeight == 25)
        #expect(h.state.failedChecks == 0)
        #expect(h.hookCalls.count == 10, "re-asked after every passing interval")
        #expect(h.state.message == "confirm-traffic-increase holds the weight at 25%: confirm-traffic-increase said no")
        h.hookOutcome[.confirmTrafficIncrease] = true
        h.advance(10)
        #expect(h.state.canaryWeight == 50)
        // At maxWeight there is no increase left to confirm.
        h.clearLog()
        h.advance(10)
        #expect(!h.hookCalls.contains(.confirmTrafficIncrease))
        #expect(h.state.phase == .promoted)
    }

    @Test func confirmTrafficIncreaseIsNotAskedAfterFailedOrEmptyIntervals() {
        var h = Harness(nil)
        h.drive(.configured(primaryRevision: "v1", canaryRevision: "v2", analysis: withHooks(.confirmTrafficIncrease) { $0.threshold = 5 }))
        h.verdictScript = [[failing()], [noData()]]
        h.advance(20)
        #expect(h.hookCalls.isEmpty)
        #expect(h.state.canaryWeight == 25)
    }

    @Test func confirmPromotionHoldsInWaitingPromotionWhileAnalysisGoesOn() {
        var h = Harness(nil)
        h.hookOutcome[.confirmPromotion] = false
        h.drive(.configured(primaryRevision: "v1", canaryRevision: "v2", analysis: withHooks(.confirmPromotion) { $0.threshold = 2 }))
        h.advance(20)
        #expect(h.state.phase == .waitingPromotion)
        #expect(h.state.canaryWeight == 50)
        #expect(h.state.message == "waiting for confirm-promotion: confirm-promotion said no")
        let analysedBefore = h.intervalsAnalysed
        h.defaultVerdicts = [noData()]
        h.advance(200)
        // The analysis keeps running, and no data neither fails it nor hits the deadline: it is done already.
        #expect(h.state.phase == .waitingPromotion)
        #expect(h.intervalsAnalysed == analysedBefore + 20)
        #expect(h.hookCalls.filter { $0 == .confirmPromotion }.count == 21, "re-asked every interval")
        h.hookOutcome[.confirmPromotion] = true
        h.advance(10)
        #expect(h.state.phase == .promoted)
    }

    @Test func failingChecksWhileWaitingForPromotionRollBack() {
        var h = Harness(nil)
        h.hookOutcome[.confirmPromotion] = false
        h.drive(.configured(primaryRevision: "v1", canaryRevision: "v2", analysis: withHooks(.confirmPromotion) { $0.threshold = 2 }))
        h.advance(20)
        #expect(h.state.phase == .waitingPromotion)
        h.defaultVerdicts = [failing()]
        h.advance(10)
        #expect(h.state.failedChecks == 1)
        #expect(h.state.phase == .waitingPromotion)
        h.advance(10)
        #expect(h.state.phase == .failed)
        #expect(h.hookCalls.filter { $0 == .confirmPromotion }.count == 1, "a failed interval does not ask the gate")
    }

    @Test func rolloutHooksRunBeforeEveryInterval() {
        var h = Harness(withHooks(.rollout))
        h.autoAnswer = false
        h.now = 10 * second
        let out = h.send(.tick(now: h.now))
        #expect(out.requests == [.runHooks(.rollout)])
        // While the hooks run the next tick asks nothing more.
        h.now += second
        #expect(h.send(.tick(now: h.now)).isEmpty)
        #expect(h.send(.hooksCompleted(.rollout, passed: true, detail: "ok")).requests == [.analyseInterval])
        #expect(h.send(.intervalVerdicts([passing()])).requests == [.setWeight(50)])
    }
}
