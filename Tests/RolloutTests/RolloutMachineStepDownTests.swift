// Gradual rollback (`stepWeightRollback`): failed checks step the weight down; hard failures and abort still go to 0.
import Analysis
import Config
import Foundation
import Rollout
import Testing

@Suite struct RolloutMachineStepDownTests {
    /// Steps of 10 up to 50, threshold 2, rollback hooks; passes to 40%, then fails (2 failed checks at 40s and 50s).
    private func failingAt40(stepWeightRollback: Int = 10, pace: AnalysisConfig.Pace = .interval) -> Harness {
        var h = Harness(
            withHooks(.rollback) {
                $0.stepWeight = 10
                $0.stepWeightRollback = stepWeightRollback
                $0.pace = pace
            })
        h.verdictScript = [[passing()], [passing()], [passing()], [failing()], [failing()]]
        h.advance(50)
        return h
    }

    @Test func failedChecksStepTheWeightDownPerIntervalThenFail() {
        var h = failingAt40()
        #expect(h.weights == [10, 20, 30, 40, 30], "the threshold's failed check steps down at once")
        #expect(h.state.phase == .progressing)
        #expect(h.state.stepDownReason?.contains("failed checks 2/2") == true)
        #expect(h.state.message.hasPrefix("rolling back v2 gradually, canary weight 30%: failed checks 2/2"))
        #expect(!h.hookCalls.contains(.rollback))
        h.advance(9)
        #expect(h.state.canaryWeight == 30, "one step per interval")
        h.advance(1)
        #expect(h.state.canaryWeight == 20)
        h.advance(10)
        #expect(h.state.canaryWeight == 10)
        #expect(h.state.phase == .progressing)
        h.clearLog()
        h.advance(10)
        #expect(h.log.requests == [.setWeight(0), .runHooks(.rollback)], "reaching 0 is the usual rollback")
        #expect(h.state.phase == .failed)
        #expect(h.state.stepDownReason == nil)
        #expect(h.state.lastAnalysedRevision == "v2")
        #expect(h.state.message.hasPrefix("rolled back v2: failed checks 2/2"))
        #expect(h.state.message.hasSuffix("(weight stepped down gradually)"))
        h.clearLog()
        h.advance(60)
        #expect(h.log.isEmpty, "Failed is steady")
    }

    @Test func aPassingIntervalDoesNotStopTheStepDown() {
        // The decision stands: no interval is judged while stepping down, so passes cannot bring the canary back.
        var h = failingAt40(pace: .evidence)
        let judged = h.intervalsAnalysed
        #expect(h.verdictScript.isEmpty && h.defaultVerdicts.allSatisfy { $0.outcome == .pass })
        for _ in 0..<3 {
            h.drive(.evidenceSufficient)
            h.advance(10)
        }
        #expect(h.intervalsAnalysed == judged, "no interval judged while stepping down")
        #expect(h.weights.suffix(4) == [30, 20, 10, 0])
        #expect(h.state.phase == .failed)
    }

    @Test func offByDefaultRollsBackAtOnce() {
        #expect(AnalysisConfig().stepWeightRollback == 0)
        let h = failingAt40(stepWeightRollback: 0)
        #expect(h.weights == [10, 20, 30, 40, 0])
        #expect(h.state.phase == .failed)
        #expect(h.state.stepDownReason == nil)
        #expect(h.hookCalls.contains(.rollback))
        #expect(h.state.message.hasPrefix("rolled back v2: failed checks 2/2"))
    }

    @Test func aStepAsLargeAsTheWeightRollsBackAtOnce() {
        let h = failingAt40(stepWeightRollback: 40)
        #expect(h.weights == [10, 20, 30, 40, 0])
        #expect(h.state.phase == .failed)
    }

    @Test(arguments: [
        Verdict(judge: "sequential", outcome: .fail, summary: "e-value 120 >= 1/alpha 100", evidence: []),
        Verdict(judge: "dead-canary", outcome: .fail, summary: "5 of 5 requests failed in the last second", evidence: []),
    ])
    func hardFailuresRollBackAtOnceEvenMidStepDown(verdict: Verdict) {
        var h = failingAt40()
        h.clearLog()
        h.drive(.immediateFailure(verdict))
        #expect(h.log.requests == [.setWeight(0), .runHooks(.rollback)])
        #expect(h.state.phase == .failed)
        #expect(h.state.stepDownReason == nil)
        #expect(h.state.lastVerdicts.first?.judge == verdict.judge)
        h.clearLog()
        h.advance(30)
        #expect(h.log.isEmpty, "no further steps after the hard failure")
    }

    @Test func hardFailuresNeverStepDown() {
        var h = Harness(analysisConfig { $0.stepWeightRollback = 5 })
        h.advance(10)
        #expect(h.state.canaryWeight == 50)
        h.drive(.immediateFailure(Verdict(judge: "sequential", outcome: .fail, summary: "rejected", evidence: [])))
        #expect(h.weights.last == 0)
        #expect(h.state.phase == .failed)
    }

    @Test func abortFinishesAStepDownAtOnceAndPauseOrPromoteCannotStopIt() {
        var h = failingAt40()
        for verb in [ManualVerb.pause, .promote(force: false), .promote(force: true)] {
            #expect(h.machine.canApply(verb) == RolloutMachine.steppingDownAdvice)
            h.command(verb)
            #expect(h.state.stepDownReason != nil && !h.state.paused && h.state.phase == .progressing)
        }
        #expect(h.machine.canApply(.abort) == nil)
        h.clearLog()
        h.command(.abort)
        #expect(h.log.requests == [.setWeight(0), .runHooks(.rollback)])
        #expect(h.state.phase == .failed)
        #expect(h.state.message == "rolled back v2: aborted by operator")
    }

    @Test func aRestartMidStepDownGoesOnSteppingDown() throws {
        let mid = failingAt40().state
        // As the state file holds it, and as an older state file without the field reads.
        let data = try JSONEncoder().encode(mid)
        let restoredState = try JSONDecoder().decode(RolloutState.self, from: data)
        #expect(restoredState == mid)
        var h = Harness(
            withHooks(.rollback) {
                $0.stepWeight = 10; $0.stepWeightRollback = 10
            }, restored: restoredState)
        h.advance(1)
        #expect(h.log.requests.prefix(2) == [.setWeight(30), .startAnalysisWindow])
        #expect(h.state.stepDownReason == mid.stepDownReason)
        h.advance(9)
        #expect(h.state.canaryWeight == 30, "a full interval after the restart")
        h.advance(1)
        #expect(h.state.canaryWeight == 20)
        h.advance(20)
        #expect(h.state.phase == .failed)
        #expect(h.weights.suffix(3) == [20, 10, 0])
        #expect(h.intervalsAnalysed == 0)
    }

    @Test func aStateFileFromBeforeStepDownLoads() throws {
        var json = try #require(
            try JSONSerialization.jsonObject(with: JSONEncoder().encode(failingAt40(stepWeightRollback: 0).state)) as? [String: Any])
        #expect(json["stepDownReason"] == nil, "nil is not written, so older files read the same")
        json["message"] = "written before stepWeightRollback existed"
        let old = try JSONDecoder().decode(RolloutState.self, from: JSONSerialization.data(withJSONObject: json))
        #expect(old.stepDownReason == nil)
        #expect(old.phase == .failed)
        #expect(old.message == "written before stepWeightRollback existed")
    }

    @Test func failedChecksWaitingForPromotionStepDownInProgressing() {
        var h = Harness(
            withHooks(.confirmPromotion, .rollback) {
                $0.threshold = 2
                $0.stepWeightRollback = 10
            })
        h.hookOutcome[.confirmPromotion] = false
        h.verdictScript = [[passing()], [passing()], [failing()], [failing()]]
        h.advance(20)
        #expect(h.state.phase == .waitingPromotion)
        #expect(h.state.canaryWeight == 50)
        h.advance(20)
        #expect(h.state.phase == .progressing, "the weight is being stepped again")
        #expect(h.state.canaryWeight == 40)
        h.advance(40)
        #expect(h.weights.suffix(5) == [40, 30, 20, 10, 0])
        #expect(h.state.phase == .failed)
        #expect(!h.phases.contains(.promoting))
    }

    @Test func aReloadTurningTheStepsOffFinishesTheRollback() {
        var h = failingAt40()
        h.drive(.configured(primaryRevision: "v1", canaryRevision: "v2", analysis: withHooks(.rollback) { $0.stepWeight = 10 }))
        #expect(h.state.canaryWeight == 30)
        h.advance(10)
        #expect(h.state.phase == .failed)
        #expect(h.weights.last == 0)
    }

    @Test func aNewRevisionMidStepDownRestartsFromZero() {
        var h = failingAt40()
        h.drive(
            .configured(
                primaryRevision: "v1", canaryRevision: "v3",
                analysis: withHooks(.rollback) {
                    $0.stepWeight = 10; $0.stepWeightRollback = 10
                }))
        #expect(h.state.stepDownReason == nil)
        #expect(h.state.phase == .progressing)
        #expect(h.state.canaryRevision == "v3")
        #expect(h.state.failedChecks == 0)
    }
}
