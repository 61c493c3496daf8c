// Healthy rollouts from a new revision to Succeeded: steps, stepWeights, promote hook, stepWeightPromotion.
import Analysis
import Config
import Rollout
import Testing

@Suite struct RolloutMachineHappyPathTests {
    @Test func newRevisionStartsWithReadinessProbe() {
        var h = Harness(nil)
        h.autoAnswer = false
        let out = h.send(.configured(primaryRevision: "v1", canaryRevision: "v2", analysis: analysisConfig()))
        #expect(out.requests == [.probeCanaryReadiness])
        #expect(out.contains(.emit(RolloutEventLog(phase: .initializing, message: "new revision v2 detected: initializing", weight: 0))))
        #expect(h.state.phase == .initializing)
        #expect(h.state.canaryRevision == "v2")
        #expect(h.state.primaryRevision == "v1")
        #expect(h.state.canaryWeight == 0)
    }

    @Test func readyCanaryGoesToFirstStepWithFreshWindow() {
        var h = Harness(nil)
        h.autoAnswer = false
        h.send(.configured(primaryRevision: "v1", canaryRevision: "v2", analysis: analysisConfig()))
        let out = h.send(.canaryReady(true))
        // Weight first, then the window: the window should see the canary's traffic at its new weight.
        #expect(out.requests == [.setWeight(25), .startAnalysisWindow])
        #expect(h.state.phase == .progressing)
        #expect(h.state.stepIndex == 0)
    }

    @Test func healthyRolloutWithoutPromoteHook() {
        var h = Harness(analysisConfig())
        #expect(h.state.phase == .progressing)
        #expect(h.state.canaryWeight == 25)
        h.advance(9)
        #expect(h.intervalsAnalysed == 0, "no interval before `interval` has passed")
        h.advance(1)
        #expect(h.intervalsAnalysed == 1)
        #expect(h.state.canaryWeight == 50)
        #expect(h.state.stepIndex == 1)
        // One more passing interval at maxWeight, then promotion: the canary takes all traffic.
        h.advance(10)
        #expect(h.state.completedIterations == 1)
        #expect(h.state.phase == .promoted)
        #expect(h.state.canaryWeight == 100)
        // Promoted holds through any number of ticks until the reload makes the primary v2.
        h.advance(100)
        #expect(h.state.phase == .promoted)
        h.clearLog()
        h.drive(.configured(primaryRevision: "v2", canaryRevision: "v2", analysis: analysisConfig()))
        #expect(h.log.requests == [.setWeight(0), .drainCanary])
        #expect(h.phases == [.finalising, .succeeded] || h.phases == [.succeeded])
        #expect(h.state.phase == .succeeded)
        #expect(h.state.lastAnalysedRevision == "v2")
        #expect(h.state.primaryRevision == "v2")
        #expect(h.state.canaryWeight == 0)
    }

    @Test func fullTrailOfPhasesAndWeights() {
        var h = Harness(
            analysisConfig {
                $0.maxWeight = 100; $0.stepWeight = 30
            })
        h.run { $0.phase == .promoted }
        #expect(h.weights == [30, 60, 90, 100])
        #expect(
            h.phases == [.initializing, .initialized, .progressing, .promoting, .promoted]
                || h.phases == [.initializing, .progressing, .promoted])
        #expect(h.intervalsAnalysed == 4, "3 steps + one interval at maxWeight")
    }

    @Test func stepWeightsFollowTheList() {
        var h = Harness(
            analysisConfig {
                $0.stepWeights = [5, 10, 25, 50]; $0.maxWeight = 30
            })
        h.run { $0.phase == .promoted }
        // With stepWeights the last entry is the maximum, as in Flagger; maxWeight is not used.
        #expect(h.weights == [5, 10, 25, 50, 100])
        #expect(h.intervalsAnalysed == 4)
        #expect(h.state.stepIndex == 3)
    }

    @Test func stepWeightIsCappedAtMaxWeight() {
        var h = Harness(
            analysisConfig {
                $0.stepWeight = 20; $0.maxWeight = 50
            })
        h.run { $0.phase == .promoted }
        #expect(h.weights == [20, 40, 50, 100])
    }

    @Test func promoteHookThenPrimaryThenFinalising() {
        var h = Harness(withHooks(.promote, .postRollout))
        h.primaryAnswer = .silent
        h.run { $0.phase == .promoting && $0.promoteHookPassed }
        #expect(h.hookCalls.contains(.promote))
        #expect(h.state.canaryWeight == 50, "the canary keeps maxWeight while the primary is updated")
        // The primary is probed every readiness interval until it reports the canary's revision.
        h.clearLog()
        h.advance(3)
        #expect(h.log.requests.filter { $0 == .probePrimary(expectedRevision: "v2") }.count == 3)
        h.clearLog()
        h.send(.primaryReady(revision: "v1"))
        #expect(h.state.phase == .promoting, "still the old revision")
        h.drive(.primaryReady(revision: "v2"))
        #expect(h.log.requests == [.setWeight(0), .drainCanary, .runHooks(.postRollout)])
        #expect(h.state.phase == .succeeded)
        #expect(h.state.primaryRevision == "v2")
        #expect(h.state.lastAnalysedRevision == "v2")
    }

    @Test func primaryWithoutRevisionReportIsTakenWhenReady() {
        var h = Harness(withHooks(.promote))
        h.primaryAnswer = .ready(nil)
        h.run { $0.phase.isSteady }
        #expect(h.state.phase == .succeeded)
        #expect(h.weights == [25, 50, 0])
    }

    @Test func stepWeightPromotionRaisesCanaryTowardFullWithoutPromoteHook() {
        var h = Harness(analysisConfig { $0.stepWeightPromotion = 20 })
        h.run { $0.phase == .promoting }
        #expect(h.state.canaryWeight == 70, "the first promotion step is taken at once")
        h.advance(10)
        #expect(h.state.canaryWeight == 90)
        h.advance(10)
        #expect(h.state.canaryWeight == 100)
        #expect(h.state.phase == .promoted)
        #expect(h.weights == [25, 50, 70, 90, 100])
    }

    @Test func stepWeightPromotionShiftsBackToUpdatedPrimaryWithPromoteHook() {
        var h = Harness(withHooks(.promote) { $0.stepWeightPromotion = 20 })
        h.run { $0.primaryRevision == "v2" }
        // Flagger: once the primary runs the new revision, its share grows by stepWeightPromotion per interval.
        #expect(h.state.canaryWeight == 30)
        h.advance(10)
        #expect(h.state.canaryWeight == 10)
        h.advance(10)
        #expect(h.state.phase == .succeeded)
        #expect(h.weights == [25, 50, 30, 10, 0])
    }

    @Test func skipAnalysisPromotesOnceReady() {
        let h = Harness(withHooks(.preRollout) { $0.skipAnalysis = true })
        #expect(h.state.phase == .promoted)
        #expect(h.intervalsAnalysed == 0)
        #expect(!h.hookCalls.contains(.preRollout))
        #expect(h.weights == [100])
    }

    @Test func hooksRunInFlaggerOrder() {
        var h = Harness(
            withHooks(.confirmRollout, .preRollout, .rollout, .confirmTrafficIncrease, .confirmPromotion, .promote, .postRollout))
        h.run { $0.phase.isSteady }
        #expect(h.state.phase == .succeeded)
        #expect(
            h.hookCalls == [
                .confirmRollout, .preRollout,
                .rollout, .confirmTrafficIncrease,  // 25 → 50
                .rollout, .confirmPromotion,  // one interval at maxWeight
                .promote, .postRollout,
            ])
    }

    @Test func noVerdictsAtAllPasses() {
        var h = Harness(analysisConfig())
        h.defaultVerdicts = []
        h.run { $0.phase == .promoted }
        #expect(h.state.failedChecks == 0)
    }

    @Test func passWithSomeNoDataStillPasses() {
        var h = Harness(analysisConfig())
        h.defaultVerdicts = [passing("comparison-errors"), noData()]
        h.run { $0.phase == .promoted }
        #expect(h.weights == [25, 50, 100])
    }

    @Test func intervalVerdictsAreKeptWithEvidence() {
        var h = Harness(analysisConfig())
        h.advance(10)
        #expect(h.state.lastVerdicts.map(\.judge) == ["request-success-rate", "comparison-errors"])
        #expect(h.state.lastVerdicts[0].outcome == "pass")
        #expect(h.state.lastVerdicts[0].evidence == [.init(name: "n", value: 100)])
        #expect(h.state.lastVerdicts[0].verdict == passing())
    }
}
