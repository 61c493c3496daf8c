// Config reloads: which revision starts a rollout, same-revision no-ops, restarts, unmanaged routes.
import Analysis
import Config
import Rollout
import Testing

@Suite struct RolloutMachineRevisionTests {
    @Test func sameRevisionMidRolloutChangesNothing() {
        var h = Harness(analysisConfig())
        h.advance(10)
        let before = h.state
        let out = h.drive(.configured(primaryRevision: "v1", canaryRevision: "v2", analysis: analysisConfig()))
        #expect(out.isEmpty)
        #expect(h.state == before)
    }

    @Test(arguments: [true, false])
    func lastAnalysedRevisionAgainChangesNothing(promoted: Bool) {
        var h = Harness(analysisConfig { $0.threshold = 1 })
        if promoted {
            h.run { $0.phase == .promoted }
            h.drive(.configured(primaryRevision: "v2", canaryRevision: "v2", analysis: analysisConfig()))
            #expect(h.state.phase == .succeeded)
        } else {
            h.defaultVerdicts = [failing()]
            h.advance(10)
            #expect(h.state.phase == .failed)
        }
        let before = h.state
        #expect(h.drive(.configured(primaryRevision: promoted ? "v2" : "v1", canaryRevision: "v2", analysis: analysisConfig())).isEmpty)
        #expect(h.state == before)
        h.advance(100)
        #expect(h.state == before)
    }

    @Test func canaryThatIsAlreadyThePrimaryIsNotRolledOut() {
        let h = Harness(analysisConfig(), primary: "v2", canary: "v2")
        #expect(h.state.phase == .succeeded)
        #expect(h.state.primaryRevision == "v2")
        #expect(h.log.requests.isEmpty)
    }

    @Test func newRevisionMidRolloutRestartsFromZero() {
        var h = Harness(analysisConfig { $0.threshold = 3 })
        h.verdictScript = [[passing()], [failing()]]
        h.advance(20)
        #expect(h.state.canaryWeight == 50)
        #expect(h.state.failedChecks == 1)
        h.clearLog()
        h.autoAnswer = false
        let out = h.send(.configured(primaryRevision: "v1", canaryRevision: "v3", analysis: analysisConfig()))
        #expect(out.requests == [.setWeight(0), .probeCanaryReadiness])
        #expect(h.state.phase == .initializing)
        #expect(h.state.canaryRevision == "v3")
        #expect(h.state.failedChecks == 0)
        #expect(h.state.completedIterations == 0)
        #expect(h.state.lastVerdicts.isEmpty)
        #expect(h.state.lastAnalysedRevision == nil, "v2 was neither promoted nor rolled back")
        #expect(h.state.message == "new revision v3 replaces v2 mid-rollout: restarting from weight 0")
        // The verdicts of the interrupted interval are stale.
        #expect(h.send(.intervalVerdicts([failing()])).isEmpty)
    }

    @Test func newRevisionAfterRollbackStarts() {
        var h = Harness(analysisConfig { $0.threshold = 1 })
        h.defaultVerdicts = [failing()]
        h.advance(10)
        h.defaultVerdicts = [passing()]
        h.drive(.configured(primaryRevision: "v1", canaryRevision: "v3", analysis: analysisConfig()))
        #expect(h.state.phase == .progressing)
        #expect(h.state.canaryRevision == "v3")
        #expect(h.state.failedChecks == 0)
        #expect(h.state.lastAnalysedRevision == "v2")
    }

    @Test func settingsReloadedMidRolloutApplyToTheNextStep() {
        var h = Harness(analysisConfig())
        h.drive(
            .configured(
                primaryRevision: "v1", canaryRevision: "v2",
                analysis: analysisConfig {
                    $0.stepWeight = 5; $0.maxWeight = 100
                }))
        #expect(h.state.phase == .progressing)
        h.advance(10)
        #expect(h.weights == [25, 30])
    }

    @Test func routeWithoutAnalysisIsSteady() {
        var h = Harness(nil)
        let out = h.drive(.configured(primaryRevision: "v1", canaryRevision: "v2", analysis: nil))
        #expect(out.requests.isEmpty, "the initial state already is steady at weight 0")
        #expect(h.state.phase == .succeeded)
        #expect(h.state.primaryRevision == "v1")
        h.clearLog()
        h.advance(100)
        #expect(h.log.isEmpty)
    }

    @Test(arguments: [true, false])
    func removingCanaryOrAnalysisCancelsTheRollout(removeCanary: Bool) {
        var h = Harness(analysisConfig())
        h.advance(10)
        h.clearLog()
        h.drive(
            .configured(primaryRevision: "v1", canaryRevision: removeCanary ? nil : "v2", analysis: removeCanary ? analysisConfig() : nil))
        #expect(h.log.requests == [.setWeight(0)])
        #expect(h.state.phase == .succeeded)
        #expect(
            h.state.message == "rollout of v2 cancelled: " + (removeCanary ? "no canary configured" : "no analysis section")
                + "; all traffic on the primary")
        h.advance(100)
        #expect(h.intervalsAnalysed == 1)
    }

    @Test func promotedReloadWithNextCanaryFinalisesThenStartsIt() {
        var h = Harness(analysisConfig())
        h.run { $0.phase == .promoted }
        h.clearLog()
        h.drive(.configured(primaryRevision: "v2", canaryRevision: "v3", analysis: analysisConfig()))
        #expect(h.state.lastAnalysedRevision == "v2")
        #expect(h.state.canaryRevision == "v3")
        #expect(h.state.phase == .progressing)
        #expect(h.log.requests.prefix(2) == [.setWeight(0), .drainCanary])
        #expect(h.messages.contains("promotion of v2 completed"))
    }

    @Test func newRevisionWhileFinalisingWaitsForThePostRolloutHooks() {
        var h = Harness(withHooks(.postRollout))
        h.run { $0.phase == .promoted }
        h.autoAnswer = false
        h.send(.configured(primaryRevision: "v2", canaryRevision: "v2", analysis: withHooks(.postRollout)))
        #expect(h.state.phase == .finalising)
        #expect(h.send(.configured(primaryRevision: "v2", canaryRevision: "v3", analysis: withHooks(.postRollout))).isEmpty)
        #expect(h.state.phase == .finalising)
        let out = h.send(.hooksCompleted(.postRollout, passed: true, detail: "ok"))
        #expect(out.requests == [.probeCanaryReadiness])
        #expect(h.state.phase == .initializing)
        #expect(h.state.canaryRevision == "v3")
        #expect(h.state.lastAnalysedRevision == "v2")
    }

    @Test func promotedWaitsForTheRightPrimary() {
        var h = Harness(analysisConfig())
        h.run { $0.phase == .promoted }
        // A reload that still has the old primary (e.g. other routes changed) keeps Promoted.
        #expect(h.drive(.configured(primaryRevision: "v1", canaryRevision: "v2", analysis: analysisConfig())).isEmpty)
        #expect(h.state.phase == .promoted)
        #expect(h.state.canaryWeight == 100)
    }
}
