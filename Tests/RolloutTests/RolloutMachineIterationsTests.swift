// Iterations (A/B, blue/green): weight 0 with the canary live for N passing intervals, then one switch either way.
import Analysis
import Config
import Foundation
import Rollout
import Testing

@Suite struct RolloutMachineIterationsTests {
    /// Interval 10s, threshold 2, deadline 60s, three iterations (the step keys of `analysisConfig` are ignored).
    private func iterations(_ n: Int = 3, hooks: HookType..., modify: (inout AnalysisConfig) -> Void = { _ in }) -> AnalysisConfig {
        analysisConfig {
            $0.iterations = n
            $0.webhooks = hooks.map(hook)
            modify(&$0)
        }
    }

    @Test func passingIntervalsCountAtWeightZeroWithTheCanaryLiveThenPromote() {
        var h = Harness(iterations(3))
        #expect(h.state.phase == .progressing)
        #expect(h.state.canaryWeight == 0 && h.state.isCanaryLiveAtZero)
        #expect(h.log.requests == [.probeCanaryReadiness, .setCanaryLive(true), .startAnalysisWindow])
        #expect(h.state.message.hasPrefix("starting 3 iterations at canary weight 0%"))
        h.advance(20)
        #expect(h.state.completedIterations == 2)
        #expect(h.state.phase == .progressing && h.state.canaryWeight == 0 && h.state.isCanaryLiveAtZero)
        #expect(h.state.message == "iteration 2/3 passed")
        #expect(h.weights.isEmpty, "the weight never leaves 0 during the iterations")
        h.advance(10)
        #expect(h.state.completedIterations == 3)
        #expect(h.state.phase == .promoted)
        #expect(h.weights == [100], "all traffic switches at once")
        #expect(h.liveSwitches == [true, false])
        #expect(!h.state.isCanaryLiveAtZero)
        // The new weight first, then live off: the canary is never dark in between.
        #expect(h.log.requests.suffix(2) == [.setWeight(100), .setCanaryLive(false)])
    }

    @Test func theUsualPromotionPathFollows() {
        var h = Harness(iterations(2, hooks: .confirmPromotion, .promote, .postRollout))
        h.hookOutcome[.confirmPromotion] = false
        h.advance(20)
        #expect(h.state.phase == .waitingPromotion)
        #expect(h.state.isCanaryLiveAtZero, "the cohort keeps reaching the canary while the gate holds")
        h.hookOutcome[.confirmPromotion] = true
        h.advance(10)
        #expect(h.state.phase == .succeeded)
        #expect(h.hookCalls.suffix(3) == [.confirmPromotion, .promote, .postRollout])
        #expect(h.weights.isEmpty, "with a promote hook the primary becomes the revision: the switch is the primary's")
        #expect(h.liveSwitches == [true, false])
        #expect(h.log.requests.contains(.drainCanary))
    }

    @Test func failedChecksRollBackAndClearLive() {
        var h = Harness(iterations(5, hooks: .rollback))
        h.verdictScript = [[passing()], [failing()], [failing()]]
        h.advance(20)
        #expect(h.state.failedChecks == 1 && h.state.isCanaryLiveAtZero)
        #expect(h.state.message.hasSuffix("weight held at 0%"))
        h.advance(10)
        #expect(h.state.phase == .failed)
        #expect(!h.state.isCanaryLiveAtZero)
        #expect(h.liveSwitches == [true, false])
        #expect(h.hookCalls.last == .rollback)
        #expect(h.state.completedIterations == 1)
    }

    @Test func rollbackIsOneSwitchWhateverStepWeightRollbackSays() {
        // The decoder refuses stepWeightRollback with iterations; a machine given both still switches once.
        var h = Harness(iterations(5, hooks: .rollback) { $0.stepWeightRollback = 10 })
        h.verdictScript = [[failing()], [failing()]]
        h.advance(20)
        #expect(h.state.phase == .failed)
        #expect(h.state.stepDownReason == nil)
        #expect(h.weights.isEmpty && h.liveSwitches == [true, false])
        #expect(!h.state.message.contains("gradually"))
    }

    @Test(arguments: [ManualVerb.abort, nil])
    func abortAndImmediateFailuresClearLive(verb: ManualVerb?) {
        var h = Harness(iterations())
        h.advance(5)
        if let verb {
            h.command(verb)
        } else {
            h.drive(.immediateFailure(Verdict(judge: "dead-canary", outcome: .fail, summary: "all 5 failed", evidence: [])))
        }
        #expect(h.state.phase == .failed)
        #expect(!h.state.isCanaryLiveAtZero && h.liveSwitches == [true, false])
    }

    @Test func pauseKeepsTheHoldAndResumeCarriesOn() {
        var h = Harness(iterations())
        h.advance(10)
        h.command(.pause)
        h.advance(30)
        #expect(h.state.isCanaryLiveAtZero && h.state.completedIterations == 1)
        h.command(.resume)
        h.advance(20)
        #expect(h.state.phase == .promoted)
    }

    @Test func aNewRevisionOrLosingTheAnalysisClearsLive() {
        var h = Harness(iterations())
        h.canaryReady = false
        h.drive(.configured(primaryRevision: "v1", canaryRevision: "v3", analysis: iterations()))
        #expect(h.state.phase == .initializing)
        #expect(!h.state.isCanaryLiveAtZero, "no cohort reaches a canary that is not ready yet")
        h.canaryReady = true
        h.advance(1)
        #expect(h.state.phase == .progressing && h.state.isCanaryLiveAtZero)
        h.drive(.configured(primaryRevision: "v1", canaryRevision: "v3", analysis: nil))
        #expect(h.state.phase == .succeeded && !h.state.isCanaryLiveAtZero)
        #expect(h.liveSwitches == [true, false, true, false])
    }

    // MARK: - An interval in which the canary had no request (blue/green without a mirror)

    @Test func withoutCanaryTrafficTheRolloutHooksDecide() {
        var h = Harness(iterations(2, hooks: .rollout))
        h.canaryTraffic = false
        h.defaultVerdicts = [noData(), Verdict(judge: "evidence", outcome: .hold, summary: "not yet", evidence: [])]
        h.advance(10)
        #expect(h.state.completedIterations == 1)
        #expect(h.state.message == "iteration 1/2 passed on the rollout hooks (the canary had no traffic for the judges)")
        h.advance(10)
        #expect(h.state.phase == .promoted)
        #expect(h.weights == [100])
    }

    @Test func withoutCanaryTrafficAFailingRolloutHookIsAFailedCheck() {
        var h = Harness(iterations(2, hooks: .rollout))
        h.canaryTraffic = false
        h.defaultVerdicts = [noData()]
        h.hookOutcome[.rollout] = false
        h.advance(20)
        #expect(h.state.phase == .failed)
        #expect(h.state.completedIterations == 0)
        #expect(!h.state.isCanaryLiveAtZero)
    }

    @Test func withoutCanaryTrafficOrRolloutHooksNothingPassesUntilTheDeadline() {
        var h = Harness(iterations(2))
        h.canaryTraffic = false
        h.defaultVerdicts = [noData()]
        h.advance(50)
        #expect(h.state.phase == .progressing && h.state.completedIterations == 0)
        #expect(h.state.message.hasPrefix("no data"))
        h.advance(20)
        #expect(h.state.phase == .failed)
        #expect(h.state.message.contains("progressDeadline"))
        #expect(!h.state.isCanaryLiveAtZero)
    }

    @Test func withoutCanaryTrafficStepsHoldAsBefore() {
        var h = Harness(withHooks(.rollout))
        h.canaryTraffic = false
        h.defaultVerdicts = [noData()]
        h.advance(30)
        #expect(h.state.canaryWeight == 25, "no step up without data, rollout hooks or not")
        #expect(h.liveSwitches.isEmpty)
    }

    // MARK: - Persistence

    @Test func aRestartMidIterationsHoldsLiveAgainAndKeepsTheCount() throws {
        var h = Harness(iterations(3))
        h.advance(20)
        let data = try JSONEncoder().encode(h.state)
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(json["canaryLiveAtZero"] as? Bool == true)
        let restored = try JSONDecoder().decode(RolloutState.self, from: data)
        var after = Harness(iterations(3), restored: restored)
        after.advance(1)
        #expect(after.log.requests.prefix(3) == [.setWeight(0), .setCanaryLive(true), .startAnalysisWindow])
        #expect(after.state.completedIterations == 2)
        after.advance(10)
        #expect(after.state.phase == .promoted)
    }

    @Test func aStateFileFromBeforeIterationsLoadsNotLive() throws {
        var live = Harness(iterations(3))
        live.advance(10)
        var json = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(live.state)) as? [String: Any])
        json["canaryLiveAtZero"] = nil
        let old = try JSONDecoder().decode(RolloutState.self, from: JSONSerialization.data(withJSONObject: json))
        #expect(old.canaryLiveAtZero == nil && !old.isCanaryLiveAtZero)
        #expect(old.completedIterations == 1)
        // A state that never held the canary live does not write the field at all.
        let stepped = try JSONSerialization.jsonObject(with: JSONEncoder().encode(Harness(analysisConfig()).state)) as? [String: Any]
        #expect(stepped?["canaryLiveAtZero"] == nil)
    }
}
