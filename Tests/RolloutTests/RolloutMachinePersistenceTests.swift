// Persistence: a persist after every change, restore after kill -9 at the same phase and weight, Codable state.
import Analysis
import Config
import Foundation
import Rollout
import Testing

@Suite struct RolloutMachinePersistenceTests {
    @Test func everyChangeIsPersistedOnceAndNothingElseIs() {
        var h = Harness(withHooks(.promote, .postRollout, .rollout, .confirmPromotion))
        h.clearLog()
        h.calls = 0
        h.changes = 0
        h.advance(100)
        #expect(h.state.phase == .succeeded)
        // `send` checks each call: one persist, last, of the current state, exactly when the state changed.
        #expect(h.log.filter { if case .persist = $0 { true } else { false } }.count == h.changes)
        #expect(h.changes >= 5)
        #expect(h.calls > h.changes, "ticks that change nothing persist nothing")
    }

    /// A state as the state file holds it mid-Progressing at 50%, with one failed check.
    private var progressingAt50: RolloutState {
        RolloutState(
            route: "web", phase: .progressing, canaryWeight: 50, failedChecks: 1, stepIndex: 1, canaryRevision: "v2",
            primaryRevision: "v1", phaseEnteredAt: 100 * second, lastProgressAt: 100 * second,
            lastVerdicts: [VerdictRecord(failing())], message: "failed check 1/2")
    }

    @Test func restoredProgressingResumesAtTheSameWeightWithAFreshWindow() {
        var m = RolloutMachine(route: "web", restored: progressingAt50)
        #expect(m.state == progressingAt50)
        let config = analysisConfig { $0.maxWeight = 75 }
        let configured = m.handle(.configured(primaryRevision: "v1", canaryRevision: "v2", analysis: config), now: 0)
        #expect(configured.isEmpty, "the same revision: no restart")
        let out = m.handle(.tick(now: 0), now: 0)
        #expect(out.requests == [.setWeight(50), .startAnalysisWindow])
        #expect(m.state.phase == .progressing)
        #expect(m.state.canaryWeight == 50)
        #expect(m.state.failedChecks == 1, "the failed checks survive a restart")
        #expect(m.state.message == "resumed after a restart at Progressing, weight 50%")
        #expect(out.last == .persist(m.state))
        // And it goes on from there.
        var h = Harness(nil)
        h.machine = m
        h.advance(10)
        #expect(h.state.canaryWeight == 75)
        h.advance(10)
        #expect(h.state.phase == .promoted)
    }

    @Test func anyEventAfterTheConfigResumes() {
        var m = RolloutMachine(route: "web", restored: progressingAt50)
        _ = m.handle(.configured(primaryRevision: "v1", canaryRevision: "v2", analysis: analysisConfig()), now: 0)
        let out = m.handle(.command(.pause), now: 0)
        #expect(out.requests == [.setWeight(50), .startAnalysisWindow])
        #expect(m.state.paused)
        #expect(m.handle(.tick(now: second), now: second).isEmpty, "resumed once only")
    }

    @Test func restoredPromotedFinalisesOnceOnTheReload() {
        let saved = RolloutState(route: "web", phase: .promoted, canaryWeight: 100, canaryRevision: "v2", primaryRevision: "v1")
        var m = RolloutMachine(route: "web", restored: saved)
        let config = withHooks(.postRollout)
        let out = m.handle(.configured(primaryRevision: "v2", canaryRevision: "v2", analysis: config), now: 0)
        #expect(out.requests == [.setWeight(0), .drainCanary, .runHooks(.postRollout)])
        #expect(m.handle(.tick(now: second), now: second).isEmpty)
        _ = m.handle(.hooksCompleted(.postRollout, passed: true, detail: "ok"), now: second)
        #expect(m.state.phase == .succeeded)
    }

    @Test func tickBeforeTheConfigWaitsForIt() {
        var m = RolloutMachine(route: "web", restored: progressingAt50)
        #expect(m.handle(.tick(now: 0), now: 0).isEmpty)
        _ = m.handle(.configured(primaryRevision: "v1", canaryRevision: "v2", analysis: analysisConfig()), now: 0)
        #expect(m.handle(.tick(now: second), now: second).requests == [.setWeight(50), .startAnalysisWindow])
    }

    @Test func restoredRolloutWhoseRevisionChangedWhileDownRestarts() {
        var m = RolloutMachine(route: "web", restored: progressingAt50)
        let out = m.handle(.configured(primaryRevision: "v1", canaryRevision: "v3", analysis: analysisConfig()), now: 0)
        #expect(out.requests == [.setWeight(0), .probeCanaryReadiness])
        #expect(m.state.canaryRevision == "v3")
        #expect(m.handle(.tick(now: 0), now: 0).isEmpty, "no second resume")
    }

    @Test func restoredUnmanagedRouteIsSteady() {
        var m = RolloutMachine(route: "web", restored: progressingAt50)
        let out = m.handle(.configured(primaryRevision: "v1", canaryRevision: "v2", analysis: nil), now: 0)
        #expect(out.requests == [.setWeight(0)])
        #expect(m.state.phase == .succeeded)
    }

    @Test(arguments: [
        (Phase.initializing, false, [RolloutAction.setWeight(0), .probeCanaryReadiness]),
        (.waiting, false, [.setWeight(0), .runHooks(.confirmRollout)]),
        (.initialized, false, [.setWeight(0), .runHooks(.preRollout)]),
        (.waitingPromotion, false, [.setWeight(50), .startAnalysisWindow]),
        (.promoting, false, [.setWeight(50), .runHooks(.promote)]),
        (.promoting, true, [.setWeight(50), .probePrimary(expectedRevision: "v2")]),
        (.promoted, false, [.setWeight(100)]),
        (.finalising, false, [.setWeight(0), .drainCanary, .runHooks(.postRollout)]),
        (.failed, false, [.setWeight(0)]),
    ])
    func restoredPhaseRedoesItsStage(phase: Phase, promoteHookPassed: Bool, expected: [RolloutAction]) {
        let weight =
            switch phase {
            case .waitingPromotion, .promoting: 50
            case .promoted: 100
            default: 0
            }
        let saved = RolloutState(
            route: "web", phase: phase, canaryWeight: weight, canaryRevision: "v2", primaryRevision: "v1",
            lastAnalysedRevision: phase == .failed ? "v2" : nil, promoteHookPassed: promoteHookPassed)
        var m = RolloutMachine(route: "web", restored: saved)
        let config = withHooks(.confirmRollout, .preRollout, .promote, .postRollout, .confirmPromotion)
        _ = m.handle(.configured(primaryRevision: "v1", canaryRevision: "v2", analysis: config), now: 0)
        #expect(m.handle(.tick(now: 0), now: 0).requests == expected)
        #expect(m.state.phase == phase)
    }

    @Test func restoredPausedRolloutSetsItsWeightAndStaysPaused() {
        var saved = progressingAt50
        saved.paused = true
        var m = RolloutMachine(route: "web", restored: saved)
        _ = m.handle(.configured(primaryRevision: "v1", canaryRevision: "v2", analysis: analysisConfig()), now: 0)
        #expect(m.handle(.tick(now: 0), now: 0).requests == [.setWeight(50)])
        #expect(m.handle(.tick(now: 100 * second), now: 100 * second).isEmpty)
        #expect(m.handle(.command(.resume), now: 100 * second).requests == [.startAnalysisWindow])
    }

    @Test func restoredDeadlineCountsFromTheRestart() {
        var saved = progressingAt50
        saved.lastProgressAt = 0
        var h = Harness(nil)
        h.machine = RolloutMachine(route: "web", restored: saved)
        h.now = 1_000 * second
        h.drive(.configured(primaryRevision: "v1", canaryRevision: "v2", analysis: analysisConfig()))
        h.drive(.tick(now: h.now))
        h.defaultVerdicts = [noData()]
        h.advance(59)
        #expect(h.state.phase == .progressing)
        h.advance(1)
        #expect(h.state.phase == .failed)
    }

    @Test func stateRoundTripsThroughJSON() throws {
        var state = progressingAt50
        state.lastAnalysedRevision = "v1"
        state.paused = true
        state.completedIterations = 3
        state.lastVerdicts.append(
            VerdictRecord(
                Verdict(
                    judge: "sequential", outcome: .noData, summary: "odd figures",
                    evidence: [.init("inf", .infinity), .init("-inf", -.infinity), .init("nan", .nan)])))
        let data = try JSONEncoder().encode(state)
        let decoded = try JSONDecoder().decode(RolloutState.self, from: data)
        #expect(decoded == state)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"phase\":\"Progressing\""))
        #expect(text.contains("\"value\":\"inf\""))
        #expect(text.contains("\"outcome\":\"no-data\""))
    }

    @Test func initialStateRoundTrips() throws {
        let state = RolloutState.initial(route: "api", primaryRevision: "v7")
        #expect(state.phase == .succeeded)
        #expect(state.canaryWeight == 0)
        let decoded = try JSONDecoder().decode(RolloutState.self, from: JSONEncoder().encode(state))
        #expect(decoded == state)
    }

    @Test func phasesUseFlaggersNames() {
        #expect(
            Phase.allCases.map(\.rawValue) == [
                "Initializing", "Initialized", "Waiting", "Progressing", "WaitingPromotion",
                "Promoting", "Promoted", "Finalising", "Succeeded", "Failed", "Held",
            ])
    }

    @Test func verdictRecordMirrorsVerdict() {
        let v = failing("comparison-latency")
        let r = VerdictRecord(v)
        #expect(r.judge == "comparison-latency")
        #expect(r.outcome == "fail")
        #expect(r.evidence.map(\.name) == ["value", "min"])
        #expect(r.verdict == v)
        #expect(VerdictRecord(judge: "x", outcome: "maybe", summary: "", evidence: []).verdict == nil)
    }
}
