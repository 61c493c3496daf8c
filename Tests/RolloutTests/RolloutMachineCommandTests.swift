// The manual verbs: pause, resume, promote [--force], abort, retry — where they apply and where they are refused.
import Analysis
import Config
import Rollout
import Testing

@Suite struct RolloutMachineCommandTests {
    /// A machine restored in `phase` for revision v2 (primary v1), configured and resumed as the controller does.
    private func machine(in phase: Phase, paused: Bool = false, promoteHookPassed: Bool = false) -> RolloutMachine {
        let state = RolloutState(
            route: "web", phase: phase, canaryWeight: phase.isSteady ? 0 : 25, canaryRevision: "v2", primaryRevision: "v1",
            lastAnalysedRevision: phase.isSteady ? "v2" : nil, paused: paused, promoteHookPassed: promoteHookPassed)
        var m = RolloutMachine(route: "web", restored: state)
        // Every stage's hook is configured and left unanswered, so the resumed machine stays in `phase`.
        let config = withHooks(.confirmRollout, .preRollout, .confirmPromotion, .promote, .postRollout)
        _ = m.handle(.configured(primaryRevision: "v1", canaryRevision: "v2", analysis: config), now: 0)
        _ = m.handle(.tick(now: 0), now: 0)
        #expect(m.state.phase == phase)
        return m
    }

    @Test(arguments: Phase.allCases)
    func whereEachVerbApplies(phase: Phase) {
        let m = machine(in: phase)
        let pausable: Set<Phase> = [.initializing, .waiting, .initialized, .progressing, .waitingPromotion, .promoting]
        let abortable: Set<Phase> = [.initializing, .waiting, .initialized, .progressing, .waitingPromotion, .promoting, .promoted, .held]
        #expect((m.canApply(.pause) == nil) == pausable.contains(phase))
        #expect(m.canApply(.resume) == (phase == .held ? RolloutMachine.heldAdvice : "the rollout is not paused"))
        #expect((m.canApply(.promote(force: false)) == nil) == [.progressing, .waitingPromotion].contains(phase))
        #expect((m.canApply(.promote(force: true)) == nil) == [.progressing, .waitingPromotion, .held].contains(phase))
        #expect((m.canApply(.abort) == nil) == abortable.contains(phase))
        #expect((m.canApply(.retry) == nil) == [.failed, .held].contains(phase))
    }

    @Test func reasonsForRefusals() {
        #expect(machine(in: .progressing, paused: true).canApply(.pause) == "the rollout is already paused")
        #expect(machine(in: .succeeded).canApply(.pause) == "nothing to pause in phase Succeeded")
        #expect(
            machine(in: .initializing).canApply(.promote(force: true))
                == "promote applies in Progressing or WaitingPromotion, not Initializing")
        #expect(machine(in: .promoting, promoteHookPassed: true).canApply(.abort) == "the promote hook has already updated the primary")
        #expect(machine(in: .succeeded).canApply(.abort) == "no rollout to abort in phase Succeeded")
        #expect(machine(in: .progressing).canApply(.retry) == "retry applies to a Failed or Held rollout, not Progressing")
    }

    @Test(arguments: [ManualVerb.pause, .resume, .promote(force: false), .promote(force: true), .abort, .retry])
    func refusedVerbEmitsAndChangesNothing(verb: ManualVerb) {
        var m = machine(in: .succeeded)
        let before = m.state
        let out = m.handle(.command(verb), now: 5)
        #expect(m.state == before)
        guard case .emit(let line)? = out.first, out.count == 1 else {
            Issue.record("expected one emit, got \(out)")
            return
        }
        #expect(line.message == "\(verb.name) ignored: \(m.canApply(verb) ?? "")")
        #expect(line.phase == .succeeded)
    }

    @Test func pauseFreezesIntervalsAndDeadlinesResumeStartsAFreshWindow() {
        var h = Harness(analysisConfig())
        h.defaultVerdicts = [noData()]
        h.advance(5)
        h.clearLog()
        let out = h.command(.pause)
        #expect(out.requests.isEmpty)
        #expect(h.state.paused)
        #expect(h.state.phase == .progressing)
        #expect(h.state.message == "paused by operator at weight 25%")
        h.advance(1000)
        #expect(h.intervalsAnalysed == 0, "no interval while paused")
        #expect(h.state.phase == .progressing, "no deadline while paused")
        #expect(h.state.canaryWeight == 25)
        h.clearLog()
        let resumed = h.command(.resume)
        #expect(resumed.requests == [.startAnalysisWindow])
        #expect(!h.state.paused)
        h.advance(9)
        #expect(h.intervalsAnalysed == 0)
        h.advance(1)
        #expect(h.intervalsAnalysed == 1)
        // The deadline restarted at the resume.
        h.advance(49)
        #expect(h.state.phase == .progressing)
        h.advance(1)
        #expect(h.state.phase == .failed)
    }

    @Test func pauseDropsAnswersInFlight() {
        var h = Harness(analysisConfig())
        h.autoAnswer = false
        h.now = 10 * second
        #expect(h.send(.tick(now: h.now)).requests == [.analyseInterval])
        h.send(.command(.pause))
        #expect(h.send(.intervalVerdicts([passing()])).isEmpty)
        #expect(h.state.canaryWeight == 25)
    }

    @Test func pauseAndResumeInInitializingReprobes() {
        var h = Harness(nil)
        h.canaryReady = false
        h.drive(.configured(primaryRevision: "v1", canaryRevision: "v2", analysis: analysisConfig()))
        h.command(.pause)
        h.clearLog()
        h.advance(300)
        #expect(h.log.isEmpty, "no probes and no readiness deadline while paused")
        h.canaryReady = true
        h.command(.resume)
        #expect(h.state.phase == .progressing)
    }

    @Test func resumeInWaitingReasksTheGate() {
        var h = Harness(nil)
        h.hookOutcome[.confirmRollout] = false
        h.drive(.configured(primaryRevision: "v1", canaryRevision: "v2", analysis: withHooks(.confirmRollout)))
        h.command(.pause)
        h.hookOutcome[.confirmRollout] = true
        h.advance(100)
        #expect(h.state.phase == .waiting)
        h.command(.resume)
        #expect(h.state.phase == .progressing)
    }

    @Test func immediateFailureRollsBackEvenWhenPaused() {
        var h = Harness(analysisConfig())
        h.command(.pause)
        h.drive(.immediateFailure(failing("sequential")))
        #expect(h.state.phase == .failed)
        #expect(!h.state.paused)
        #expect(h.state.canaryWeight == 0)
    }

    @Test func promoteSkipsRemainingStepsThroughTheGate() {
        var h = Harness(nil)
        h.hookOutcome[.confirmPromotion] = false
        h.drive(.configured(primaryRevision: "v1", canaryRevision: "v2", analysis: withHooks(.confirmPromotion) { $0.maxWeight = 100 }))
        #expect(h.state.canaryWeight == 25)
        h.command(.promote(force: false))
        #expect(h.hookCalls == [.confirmPromotion])
        #expect(h.state.phase == .waitingPromotion)
        #expect(h.state.canaryWeight == 25)
        h.hookOutcome[.confirmPromotion] = true
        h.command(.promote(force: false))
        #expect(h.state.phase == .promoted)
        #expect(h.weights == [25, 100])
    }

    @Test func forcedPromoteSkipsTheGates() {
        var h = Harness(nil)
        h.hookOutcome[.confirmPromotion] = false
        h.drive(.configured(primaryRevision: "v1", canaryRevision: "v2", analysis: withHooks(.confirmPromotion)))
        h.command(.promote(force: true))
        #expect(h.hookCalls.isEmpty)
        #expect(h.state.phase == .promoted)
        #expect(h.messages.contains("promotion forced by operator: remaining steps and gates skipped"))
    }

    @Test func promoteUnpauses() {
        var h = Harness(nil)
        h.autoAnswer = false
        h.send(.configured(primaryRevision: "v1", canaryRevision: "v2", analysis: withHooks(.confirmPromotion)))
        h.send(.canaryReady(true))
        h.send(.command(.pause))
        let out = h.send(.command(.promote(force: false)))
        #expect(out.requests == [.startAnalysisWindow, .runHooks(.confirmPromotion)])
        #expect(!h.state.paused)
    }

    @Test(arguments: [Phase.initializing, .waiting, .progressing, .waitingPromotion, .promoted])
    func abortRollsBackNow(phase: Phase) {
        var h = Harness(nil)
        h.hookOutcome[.confirmRollout] = phase != .waiting
        h.hookOutcome[.confirmPromotion] = phase != .waitingPromotion
        h.canaryReady = phase != .initializing
        h.drive(
            .configured(primaryRevision: "v1", canaryRevision: "v2", analysis: withHooks(.confirmRollout, .confirmPromotion, .rollback)))
        h.run(upTo: 50) { $0.phase == phase }
        #expect(h.state.phase == phase)
        h.clearLog()
        h.command(.abort)
        #expect(h.state.phase == .failed)
        #expect(h.state.canaryWeight == 0)
        #expect(h.state.lastAnalysedRevision == "v2")
        #expect(h.state.message == "rolled back v2: aborted by operator")
        #expect(h.hookCalls == [.rollback])
    }

    @Test func retryRunsAFailedRevisionAgain() {
        var h = Harness(analysisConfig { $0.threshold = 1 })
        h.defaultVerdicts = [failing()]
        h.advance(10)
        #expect(h.state.phase == .failed)
        h.defaultVerdicts = [passing()]
        h.clearLog()
        h.autoAnswer = false
        let out = h.send(.command(.retry))
        #expect(out.requests == [.probeCanaryReadiness])
        #expect(h.state.phase == .initializing)
        #expect(h.state.canaryRevision == "v2")
        #expect(h.state.failedChecks == 0)
        #expect(h.state.message == "retrying revision v2: initializing")
        h.autoAnswer = true
        h.drive(.canaryReady(true))
        h.run { $0.phase == .promoted }
        #expect(h.state.phase == .promoted)
    }
}
