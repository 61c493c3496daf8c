// Every judge of one rollout together: the dead-canary guard, evidence that outlives intervals, resets, restores, steps.

import Testing
import Foundation
import Config
import Telemetry
@testable import Analysis

@Suite struct RolloutJudgesTests {
    static let tick = UInt64(100_000_000)  // 100 ms in nanoseconds

    /// Ticks at 10 % weight with 5xx, 4xx and aborts on both arms, the canary taking less than its
    /// share of each: evidence that moves (down), never to a failure.
    static func ticks(_ range: Range<Int>) -> [(canary: ArmWindow, primary: ArmWindow)] {
        range.map { i in
            (
                ArmWindow(n: 10, failures: i % 30 == 0 ? 1 : 0, clientErrors: i % 40 == 0 ? 1 : 0, aborts: i % 50 == 0 ? 1 : 0),
                ArmWindow(n: 90, failures: i % 2 == 0 ? 1 : 0, clientErrors: i % 3 == 0 ? 1 : 0, aborts: i % 4 == 0 ? 1 : 0)
            )
        }
    }

    /// The guard speaks once it has a whole second to look at (ticks at 0 … 900 ms), whatever
    /// `sequential.enabled` says.
    @Test func theDeadCanaryGuardFiresWithTheSequentialJudgeDisabled() {
        var analysis = AnalysisConfig()
        analysis.sequential.enabled = false
        var judges = RolloutJudges(analysis: analysis, revision: "v2")
        for t in 0..<9 {
            #expect(
                judges.observeTick(
                    canary: ArmWindow(n: 1, failures: 1), primary: ArmWindow(n: 90, failures: 0), weight: 10, now: UInt64(t) * Self.tick)
                    == nil)
        }
        let dead = judges.observeTick(
            canary: ArmWindow(n: 1, failures: 1), primary: ArmWindow(n: 90, failures: 0), weight: 10, now: 9 * Self.tick)
        #expect(dead?.judge == "dead-canary")
        #expect(dead?.outcome == .fail)
        #expect(dead?.summary == "dead canary: all 10 canary requests of the last second failed")
        // The sequential judge, disabled, was never fed, and never fails however bad the canary.
        #expect(judges.evidence.sequential.ticks == 0)
        var other = RolloutJudges(analysis: analysis, revision: "v2")
        for t in 0..<600 {
            #expect(
                other.observeTick(
                    canary: ArmWindow(n: 10, failures: 9), primary: ArmWindow(n: 90, failures: 0), weight: 10, now: UInt64(t) * Self.tick)
                    == nil)
        }
        #expect(
            !other.analyseInterval(canary: ArmWindow(n: 6_000, failures: 5_400), primary: ArmWindow(n: 54_000, failures: 0)).contains {
                $0.judge == "sequential"
            })
    }

    /// The guard looks at the last second only: 3 failing requests, then 3 more a second later, is not
    /// dead; 2 more within that second make 5 of 5, which is.
    @Test func theDeadCanaryGuardLooksAtTheLastSecond() {
        var judges = RolloutJudges(analysis: AnalysisConfig(), revision: "v2")
        func tick(_ t: Int, _ n: UInt64, _ failures: UInt64) -> Verdict? {
            judges.observeTick(
                canary: ArmWindow(n: n, failures: failures), primary: ArmWindow(n: 90, failures: 0), weight: 10, now: UInt64(t) * Self.tick)
        }
        for t in 0..<10 { #expect(tick(t, 1, 0) == nil) }
        #expect(tick(10, 3, 3) == nil)
        for t in 11..<20 { #expect(tick(t, 0, 0) == nil) }
        #expect(tick(20, 3, 3) == nil)
        #expect(tick(21, 2, 2)?.judge == "dead-canary")
        // One success among the failures keeps the canary alive for exactly the second it is in.
        var other = RolloutJudges(analysis: AnalysisConfig(), revision: "v2")
        var deadAt: Int?
        for t in 0..<30 where deadAt == nil {
            let failures: UInt64 = t == 9 ? 4 : 5
            if other.observeTick(
                canary: ArmWindow(n: 5, failures: failures), primary: ArmWindow(n: 90, failures: 0), weight: 10,
                now: UInt64(t) * Self.tick)?.judge == "dead-canary"
            {
                deadAt = t
            }
        }
        #expect(deadAt == 19)
    }

    /// The evidence belongs to the rollout: intervals do not reset it. After ticks, intervals and more
    /// ticks it is exactly a sequential judge fed the same ticks.
    @Test func theEvidenceSurvivesIntervals() {
        var judges = RolloutJudges(analysis: AnalysisConfig(), revision: "v2")
        var reference = SequentialJudge(alpha: AnalysisConfig().sequential.alpha)
        var now: UInt64 = 0
        for (round, range) in [0..<150, 150..<300, 300..<450].enumerated() {
            var canaryInterval = ArmWindow(n: 0, failures: 0), primaryInterval = ArmWindow(n: 0, failures: 0)
            for (c, p) in Self.ticks(range) {
                #expect(judges.observeTick(canary: c, primary: p, weight: 10, now: now) == nil)
                reference.update(canary: c.outcomes(slowThreshold: nil), primary: p.outcomes(slowThreshold: nil))
                canaryInterval = ArmWindow(n: canaryInterval.n + c.n, failures: canaryInterval.failures + c.failures)
                primaryInterval = ArmWindow(n: primaryInterval.n + p.n, failures: primaryInterval.failures + p.failures)
                now += Self.tick
            }
            let before = judges.evidence.sequential
            let verdicts = judges.analyseInterval(canary: canaryInterval, primary: primaryInterval)
            #expect(judges.evidence.sequential == before)
            #expect(judges.evidence.sequential.logEValue == before.logEValue)
            #expect(judges.evidence.comparedIntervals == round + 1)
            #expect(verdicts.map(\.judge) == ["comparison-errors", "comparison-latency", "evidence", "sequential"])
            #expect(verdicts.last == judges.evidence.sequential.verdict)
        }
        #expect(judges.evidence.sequential == reference)
        #expect(judges.evidence.sequential.logEValue < -1)
        #expect(judges.evidence.sequential.bets.map(\.episodes).reduce(0, +) > 100)
        // α spent on three tested intervals: 0.01 (1/2 + 1/6 + 1/12) = 0.01 · 3/4; a quarter remains.
        #expect(close(judges.comparisonAlphaRemaining, 0.01 / 4, relative: 1e-12))
    }

    /// An interval with too few requests is not tested and spends no α.
    @Test func anUntestedIntervalSpendsNoAlpha() {
        var judges = RolloutJudges(analysis: AnalysisConfig(), revision: "v2")
        let verdicts = judges.analyseInterval(canary: ArmWindow(n: 3, failures: 0), primary: ArmWindow(n: 30, failures: 0))
        #expect(verdicts.filter { $0.judge.hasPrefix("comparison") }.allSatisfy { $0.outcome == .noData })
        #expect(judges.evidence.comparedIntervals == 0)
        #expect(judges.comparisonAlphaRemaining == 0.01)
    }

    @Test func beginRolloutStartsNewEvidence() {
        var judges = RolloutJudges(analysis: AnalysisConfig(), revision: "v2")
        var now: UInt64 = 0
        for (c, p) in Self.ticks(0..<200) { _ = judges.observeTick(canary: c, primary: p, weight: 10, now: now); now += Self.tick }
        _ = judges.analyseInterval(canary: ArmWindow(n: 2_000, failures: 67), primary: ArmWindow(n: 18_000, failures: 40))
        #expect(judges.evidence.sequential.ticks == 200 && judges.evidence.comparedIntervals == 1)
        judges.beginRollout(revision: "v3")
        #expect(judges.evidence == RolloutJudges.Evidence(revision: "v3", analysis: AnalysisConfig()))
        #expect(judges.evidence.sequential == SequentialJudge(alpha: 0.01))
        #expect(judges.comparisonAlphaRemaining == 0.01)
        // The step starts again too: one clean tick is no evidence for going further.
        _ = judges.observeTick(canary: ArmWindow(n: 10, failures: 0), primary: ArmWindow(n: 90, failures: 0), weight: 10, now: now)
        let verdicts = judges.analyseInterval(canary: ArmWindow(n: 10, failures: 0), primary: ArmWindow(n: 90, failures: 0))
        #expect(verdicts.first { $0.judge == "evidence" }?.evidence.contains(.init("canary-requests", 10)) == true)
    }

    /// Restored evidence (the state file after a restart) continues the rollout it is about, and only that.
    @Test func restoredEvidenceIsKeptOnlyForTheSameRevisionAndAlpha() throws {
        var judges = RolloutJudges(analysis: AnalysisConfig(), revision: "v2")
        var now: UInt64 = 0
        for (c, p) in Self.ticks(0..<120) { _ = judges.observeTick(canary: c, primary: p, weight: 10, now: now); now += Self.tick }
        _ = judges.analyseInterval(canary: ArmWindow(n: 1_200, failures: 40), primary: ArmWindow(n: 10_800, failures: 24))
        // Through JSON, as the state file keeps it.
        let saved = try JSONDecoder().decode(RolloutJudges.Evidence.self, from: JSONEncoder().encode(judges.evidence))
        #expect(saved == judges.evidence)

        let same = RolloutJudges(analysis: AnalysisConfig(), revision: "v2", restored: saved)
        #expect(same.evidence == saved)
        #expect(same.evidence.sequential.logEValue == judges.evidence.sequential.logEValue)
        #expect(same.comparisonAlphaRemaining == judges.comparisonAlphaRemaining)

        // The step goes on too: the next interval at the same weight is its second look, over all its requests.
        var continued = same
        _ = continued.observeTick(canary: ArmWindow(n: 10, failures: 0), primary: ArmWindow(n: 90, failures: 0), weight: 10, now: now)
        let step = continued.analyseInterval(canary: ArmWindow(n: 10, failures: 0), primary: ArmWindow(n: 90, failures: 0)).first {
            $0.judge == "evidence"
        }
        #expect(step?.evidence.contains(.init("look", 2)) == true)
        #expect(step?.evidence.contains(.init("canary-requests", Double(saved.step.canary.requests + 10))) == true)

        let other = RolloutJudges(analysis: AnalysisConfig(), revision: "v3", restored: saved)
        #expect(other.evidence == RolloutJudges.Evidence(revision: "v3", analysis: AnalysisConfig()))

        var stricter = AnalysisConfig()
        stricter.sequential.alpha = 0.001
        let otherAlpha = RolloutJudges(analysis: stricter, revision: "v2", restored: saved)
        #expect(otherAlpha.evidence == RolloutJudges.Evidence(revision: "v2", analysis: stricter))
    }

    /// The promotion evidence covers the current step: a new weight starts it again.
    @Test func theStepEvidenceStartsAgainAtANewWeight() {
        var judges = RolloutJudges(analysis: AnalysisConfig(), revision: "v2")
        var now: UInt64 = 0
        func feed(_ ticks: Int, weight: Int) {
            for _ in 0..<ticks {
                _ = judges.observeTick(
                    canary: ArmWindow(n: 100, failures: 0), primary: ArmWindow(n: 900, failures: 0), weight: weight, now: now)
                now += Self.tick
            }
        }
        func evidence() -> Verdict {
            judges.analyseInterval(canary: ArmWindow(n: 100, failures: 0), primary: ArmWindow(n: 900, failures: 0)).first {
                $0.judge == "evidence"
            }!
        }
        feed(5, weight: 10)
        #expect(evidence().outcome == .hold)  // 500 clean canary requests
        feed(195, weight: 10)
        let step = evidence()  // 20,000 at the second look
        #expect(step.outcome == .pass)
        #expect(step.evidence.contains(.init("look", 2)))
        feed(5, weight: 20)
        let next = evidence()
        #expect(next.outcome == .hold)
        #expect(next.evidence.contains(.init("canary-requests", 500)) && next.evidence.contains(.init("look", 1)))
        // requireEvidence off: no evidence verdict at all.
        var flagger = AnalysisConfig()
        flagger.requireEvidence = false
        var off = RolloutJudges(analysis: flagger, revision: "v2")
        #expect(
            !off.analyseInterval(canary: ArmWindow(n: 100, failures: 0), primary: ArmWindow(n: 900, failures: 0)).contains {
                $0.judge == "evidence"
            })
    }

    /// "Slow" is cut at the previous interval's primary p99 plus minLatencyIncrease, and a tail
    /// regression that moves no shift (ComparisonJudgeTests) fails the rollout through the slow class.
    @Test func aTailRegressionFailsThroughTheSlowClass() throws {
        var judges = RolloutJudges(analysis: AnalysisConfig(), revision: "v2")
        #expect(judges.slowThreshold == nil)
        let primaryHistogram = histogram(milliseconds: [10, 12], counts: [9_900, 100])
        let primaryInterval = ArmWindow(n: 10_000, failures: 0, histogram: primaryHistogram)
        _ = judges.analyseInterval(
            canary: ArmWindow(n: 1_000, failures: 0, histogram: histogram(milliseconds: [10], counts: [1_000])), primary: primaryInterval)
        let threshold = try #require(judges.slowThreshold)
        #expect(close(threshold, primaryHistogram.quantile(0.99)! + 0.005, relative: 1e-12))
        // 1 canary request of 10 at 100 ms every other tick; the primary's 12 ms ones are not slow.
        var failed: Verdict?
        var t = 0
        while failed == nil && t < 200 {
            let slow = t % 2 == 0
            let canary = ArmWindow(
                n: 10, failures: 0, histogram: histogram(milliseconds: [10, 100], counts: [slow ? 9 : 10, slow ? 1 : 0]))
            let primary = ArmWindow(n: 90, failures: 0, histogram: histogram(milliseconds: [10, 12], counts: [89, 1]))
            failed = judges.observeTick(canary: canary, primary: primary, weight: 10, now: UInt64(t) * Self.tick)
            t += 1
        }
        let v = try #require(failed)
        #expect(v.judge == "sequential")
        #expect(v.summary.contains("led by slow"))
        let episodes = SequentialJudgeTests.episodesToFail(.slow, q: 0.1, alpha: 0.01)
        #expect(judges.evidence.sequential.bets[OutcomeClass.slow.rawValue].episodes == episodes)
        #expect(t == 2 * episodes)
    }
}
