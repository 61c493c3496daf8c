// Rollbacks: failed checks at the threshold, no-data deadline, immediate failures, failed hooks, timeouts.
import Analysis
import Config
import Rollout
import Testing

@Suite struct RolloutMachineFailureTests {
    @Test func failedChecksHoldTheWeightThenRollBackExactlyAtThreshold() {
        var h = Harness(withHooks(.rollback) { $0.threshold = 3 })
        h.defaultVerdicts = [failing(), passing("comparison-errors")]
        h.advance(10)
        #expect(h.state.failedChecks == 1)
        #expect(h.state.canaryWeight == 25, "a failed check holds the weight")
        #expect(h.state.phase == .progressing)
        h.advance(10)
        #expect(h.state.failedChecks == 2)
        #expect(h.state.phase == .progressing)
        h.clearLog()
        h.advance(10)
        #expect(h.state.failedChecks == 3)
        #expect(h.state.phase == .failed)
        #expect(h.log.requests == [.analyseInterval, .setWeight(0), .runHooks(.rollback)])
        #expect(h.state.canaryWeight == 0)
        #expect(h.state.lastAnalysedRevision == "v2")
        #expect(h.state.message.contains("failed checks 3/3"))
        #expect(h.state.message.contains("success rate 90% < 99%"))
        #expect(h.state.lastVerdicts.first?.outcome == "fail")
    }

    @Test func failedChecksAccumulateAcrossPassingIntervals() {
        // Flagger does not reset failedChecks on a passing interval: only a new rollout does.
        var h = Harness(
            analysisConfig {
                $0.threshold = 2; $0.stepWeight = 10; $0.maxWeight = 50
            })
        h.verdictScript = [[failing()], [passing()], [failing()]]
        h.advance(20)
        #expect(h.state.failedChecks == 1)
        #expect(h.state.canaryWeight == 20)
        h.advance(10)
        #expect(h.state.phase == .failed)
    }

    @Test func rolledBackStateIsSteady() {
        var h = Harness(analysisConfig { $0.threshold = 1 })
        h.defaultVerdicts = [failing()]
        h.advance(10)
        #expect(h.state.phase == .failed)
        h.clearLog()
        h.advance(120)
        #expect(h.log.isEmpty, "nothing happens in a steady phase")
        // A late answer changes nothing.
        h.send(.intervalVerdicts([passing()]))
        h.send(.canaryReady(true))
        h.send(.primaryReady(revision: "v2"))
        #expect(h.log.isEmpty)
    }

    @Test func noDataHoldsWithoutFailingUntilProgressDeadline() {
        var h = Harness(analysisConfig())
        h.defaultVerdicts = [noData(), noData("comparison-errors")]
        h.advance(59)
        #expect(h.state.phase == .progressing)
        #expect(h.state.failedChecks == 0, "no data is not a failed check")
        #expect(h.state.canaryWeight == 25, "no data holds the weight")
        #expect(h.state.message.hasPrefix("no data"))
        h.advance(1)
        #expect(h.state.phase == .failed)
        #expect(h.state.canaryWeight == 0)
        #expect(h.state.message.contains("progressDeadline 60s"))
        #expect(h.intervalsAnalysed == 5)
    }

    @Test func aPassingIntervalRestartsTheDeadline() {
        var h = Harness(analysisConfig { $0.stepWeight = 5 })
        h.verdictScript = Array(repeating: [noData()], count: 4) + [[passing()]] + Array(repeating: [noData()], count: 10)
        h.advance(50)
        #expect(h.state.phase == .progressing, "the pass at 50s moved the rollout")
        #expect(h.state.canaryWeight == 10)
        h.advance(59)
        #expect(h.state.phase == .progressing)
        h.advance(1)
        #expect(h.state.phase == .failed)
    }

    @Test func immediateFailureRollsBackBetweenIntervals() {
        var h = Harness(withHooks(.rollback))
        h.advance(3)
        h.clearLog()
        let dead = Verdict(judge: "sequential", outcome: .fail, summary: "canary unreachable", evidence: [.init("e", 1000)])
        h.drive(.immediateFailure(dead))
        #expect(h.log.requests == [.setWeight(0), .runHooks(.rollback)])
        #expect(h.state.phase == .failed)
        #expect(h.state.failedChecks == 0, "regardless of failedChecks")
        #expect(h.state.message == "rolled back v2: sequential: canary unreachable")
        #expect(h.state.lastVerdicts == [VerdictRecord(dead)])
        #expect(h.intervalsAnalysed == 0)
    }

    @Test(arguments: [Phase.progressing, .waitingPromotion, .promoted])
    func immediateFailureAppliesWhileTheCanaryCarriesTraffic(phase: Phase) {
        var h = Harness(withHooks(.confirmPromotion))
        h.hookOutcome[.confirmPromotion] = false
        h.run { $0.phase == phase || $0.phase == .waitingPromotion && phase == .waitingPromotion }
        if phase == .promoted {
            h.hookOutcome[.confirmPromotion] = true
            h.run { $0.phase == .promoted }
        }
        #expect(h.state.phase == phase)
        h.drive(.immediateFailure(failing("sequential")))
        #expect(h.state.phase == .failed)
        #expect(h.state.canaryWeight == 0)
    }

    @Test func immediateFailureBeforeTrafficIsIgnored() {
        var h = Harness(nil)
        h.autoAnswer = false
        h.send(.configured(primaryRevision: "v1", canaryRevision: "v2", analysis: analysisConfig()))
        let out = h.send(.immediateFailure(failing("sequential")))
        #expect(out.isEmpty)
        #expect(h.state.phase == .initializing)
    }

    @Test func immediateFailureAfterPrimaryUpdateIsIgnored() {
        var h = Harness(withHooks(.promote))
        h.primaryAnswer = .silent
        h.run { $0.promoteHookPassed }
        #expect(h.send(.immediateFailure(failing("sequential"))).isEmpty)
        #expect(h.state.phase == .promoting)
    }

    @Test func failedRolloutHookCountsAsFailedCheckWithFreshWindow() {
        var h = Harness(withHooks(.rollout))
        h.hookOutcome[.rollout] = false
        h.clearLog()
        h.advance(10)
        #expect(h.log.requests == [.runHooks(.rollout), .startAnalysisWindow])
        #expect(h.state.failedChecks == 1)
        #expect(h.state.message.contains("rollout hook failed: rollout said no"))
        h.advance(10)
        #expect(h.state.phase == .failed)
        #expect(h.intervalsAnalysed == 0)
    }

    @Test func preRolloutFailureRollsBackBeforeAnyTraffic() {
        var h = Harness(nil)
        h.hookOutcome[.preRollout] = false
        h.drive(.configured(primaryRevision: "v1", canaryRevision: "v2", analysis: withHooks(.preRollout, .rollback)))
        #expect(h.state.phase == .failed)
        #expect(h.weights.isEmpty, "the canary never got traffic")
        #expect(h.hookCalls == [.preRollout, .rollback])
        #expect(h.state.message == "rolled back v2: pre-rollout hook failed: pre-rollout said no")
    }

    @Test func preRolloutRunsInInitialized() {
        var h = Harness(withHooks(.preRollout))
        h.autoAnswer = false
        h.send(.configured(primaryRevision: "v1", canaryRevision: "v3", analysis: withHooks(.preRollout)))
        let out = h.send(.canaryReady(true))
        #expect(out.requests == [.runHooks(.preRollout)])
        #expect(h.state.phase == .initialized)
        #expect(h.state.canaryWeight == 0)
    }

    @Test func canaryNotReadyWithinDeadlineFails() {
        var h = Harness(nil)
        h.canaryReady = false
        h.drive(.configured(primaryRevision: "v1", canaryRevision: "v2", analysis: withHooks(.rollback)))
        h.advance(30)
        #expect(h.state.phase == .initializing)
        #expect(h.log.filter { $0 == .probeCanaryReadiness }.count == 31, "probed every readiness interval")
        h.advance(30)
        #expect(h.state.phase == .failed)
        #expect(h.state.message == "rolled back v2: canary not ready within progressDeadline 60s")
        #expect(h.hookCalls == [.rollback])
        #expect(h.weights.isEmpty)
    }

    @Test func canaryReadyLateStillRollsOut() {
        var h = Harness(nil)
        h.canaryReady = false
        h.drive(.configured(primaryRevision: "v1", canaryRevision: "v2", analysis: analysisConfig()))
        h.advance(20)
        h.canaryReady = true
        h.advance(1)
        #expect(h.state.phase == .progressing)
        #expect(h.state.canaryWeight == 25)
    }

    @Test func promoteHookFailureRollsBack() {
        var h = Harness(withHooks(.promote, .rollback))
        h.hookOutcome[.promote] = false
        h.run { $0.phase.isSteady }
        #expect(h.state.phase == .failed)
        #expect(h.state.canaryWeight == 0)
        #expect(h.state.message == "rolled back v2: promote hook failed: promote said no")
        #expect(h.hookCalls.suffix(2) == [.promote, .rollback])
    }

    @Test func primaryNotUpdatedWithinDeadlineRollsBack() {
        var h = Harness(withHooks(.promote))
        h.primaryAnswer = .ready("v1")
        h.run { $0.promoteHookPassed }
        let passedAt = h.now
        h.run { $0.phase.isSteady }
        #expect(h.state.phase == .failed)
        #expect(h.now - passedAt == 60 * second)
        #expect(h.state.message.contains("primary not running v2"))
    }

    @Test func failedRollbackHookIsLoggedOnly() {
        var h = Harness(withHooks(.rollback) { $0.threshold = 1 })
        h.hookOutcome[.rollback] = false
        h.defaultVerdicts = [failing()]
        h.advance(10)
        #expect(h.state.phase == .failed)
        #expect(h.messages.last == "rollback hook failed: rollback said no")
        #expect(h.state.message.hasPrefix("rolled back"))
    }

    @Test func postRolloutFailureDoesNotUndoPromotion() {
        var h = Harness(withHooks(.postRollout))
        h.hookOutcome[.postRollout] = false
        h.run { $0.phase == .promoted }
        h.drive(.configured(primaryRevision: "v2", canaryRevision: nil, analysis: withHooks(.postRollout)))
        #expect(h.state.phase == .succeeded)
        #expect(h.state.message == "promotion of v2 completed; post-rollout hook failed: post-rollout said no")
    }

    @Test func staleAnswersAreIgnored() {
        var h = Harness(analysisConfig())
        #expect(h.send(.intervalVerdicts([failing()])).isEmpty, "no interval was requested")
        #expect(h.send(.hooksCompleted(.promote, passed: true, detail: "")).isEmpty)
        #expect(h.send(.primaryReady(revision: "v2")).isEmpty)
        #expect(h.state.failedChecks == 0)
    }
}
