// The evidence gate's `hold` verdict and `pace: evidence` in the rollout machine, on the virtual clock.
import Analysis
import Config
import Rollout
import Testing

@Suite struct RolloutMachineEvidenceTests {
    static func holding() -> Verdict {
        Verdict(judge: "evidence", outcome: .hold, summary: "not yet — 5xx canary ≤ 2% vs primary ≥ 0.4%", evidence: [])
    }

    @Test func aHoldKeepsTheWeightWhateverTheOtherJudgesSayAndIsNotProgress() {
        var h = Harness(analysisConfig { $0.progressDeadline = .seconds(35) })
        #expect(h.state.canaryWeight == 25)
        h.defaultVerdicts = [passing(), Self.holding()]
        h.advance(30)
        #expect(h.intervalsAnalysed == 3)
        #expect(h.state.canaryWeight == 25, "held: the other judges passing is not enough")
        #expect(h.state.failedChecks == 0, "a hold is not a failed check")
        #expect(h.state.phase == .progressing)
        // No progress since the step began: progressDeadline (35 s) ends it, failing safe.
        h.advance(10)
        #expect(h.state.phase == .failed)
        #expect(h.state.canaryWeight == 0)
        #expect(h.state.message.contains("progressDeadline"))
    }

    @Test func aPassingGateLetsTheStepGoOn() {
        var h = Harness(analysisConfig())
        h.defaultVerdicts = [
            passing(), Verdict(judge: "evidence", outcome: .pass, summary: "every class within its allowance", evidence: []),
        ]
        h.advance(10)
        #expect(h.state.canaryWeight == 50)
    }

    @Test func evidenceSufficientAnalysesTheIntervalEarlyOnlyWithPaceEvidence() {
        var paced = Harness(analysisConfig { $0.pace = .evidence })
        paced.advance(3)
        #expect(paced.intervalsAnalysed == 0)
        paced.drive(.evidenceSufficient)
        #expect(paced.intervalsAnalysed == 1, "analysed at once, 7 s before the interval's end")
        #expect(paced.state.canaryWeight == 50)

        var timed = Harness(analysisConfig())
        timed.advance(3)
        timed.drive(.evidenceSufficient)
        #expect(timed.intervalsAnalysed == 0, "pace: interval ignores it")
        #expect(timed.state.canaryWeight == 25)
    }

    @Test func evidenceSufficientIsIgnoredWhilePausedOrWaitingForPromotion() {
        var h = Harness(analysisConfig { $0.pace = .evidence })
        h.drive(.command(.pause))
        h.drive(.evidenceSufficient)
        #expect(h.intervalsAnalysed == 0)
        #expect(h.state.canaryWeight == 25)
    }
}
