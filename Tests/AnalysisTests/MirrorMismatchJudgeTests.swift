// The mirror mismatch judge: built with a mirror, passes and fails on the interval's rate, no data below the evidence floor.

import Config
import Telemetry
import Testing
@testable import Analysis

@Suite struct MirrorMismatchJudgeTests {
    private func counts(completed: UInt64, mismatched: UInt64, body: UInt64 = 0, dropped: UInt64 = 0) -> MirrorCounts {
        var results = [UInt64](repeating: 0, count: MirrorResult.allCases.count)
        results[MirrorResult.completed.rawValue] = completed
        results[MirrorResult.dropped.rawValue] = dropped
        return MirrorCounts(results: results, mismatches: [0, body, 0], mismatched: mismatched)
    }

    @Test func passesAtOrBelowTheThreshold() {
        let v = MirrorMismatchJudge.evaluate(counts(completed: 100, mismatched: 5), maxMismatchPercent: 5, minCompleted: 10)
        #expect(v.outcome == .pass)
        #expect(v.evidence.first { $0.name == "mismatch-percent" }?.value == 5)
    }

    @Test func failsAboveTheThreshold() {
        let v = MirrorMismatchJudge.evaluate(counts(completed: 100, mismatched: 6, body: 6), maxMismatchPercent: 5, minCompleted: 10)
        #expect(v.outcome == .fail)
        #expect(v.evidence.first { $0.name == "mismatches-body" }?.value == 6)
        #expect(
            MirrorMismatchJudge.evaluate(counts(completed: 10, mismatched: 1), maxMismatchPercent: 0, minCompleted: 10).outcome == .fail)
    }

    @Test func tooFewCompletedMirrorsIsNoData() {
        let v = MirrorMismatchJudge.evaluate(counts(completed: 9, mismatched: 9, dropped: 500), maxMismatchPercent: 5, minCompleted: 10)
        #expect(v.outcome == .noData, "dropped mirrors are no evidence of a difference")
    }

    private static var withMirror: AnalysisConfig {
        var analysis = AnalysisConfig()
        analysis.mirror = MirrorJudgeConfig(maxMismatchPercent: 10)
        analysis.minRequests = 2
        return analysis
    }

    @Test func theFactoryBuildsItExactlyForARouteWithAMirror() {
        let without = JudgeFactory.standard.judges(
            for: AnalysisConfig(), continuing: RolloutJudges.Evidence(revision: nil, analysis: AnalysisConfig()))
        #expect(!without.contains { $0 is MirrorMismatchJudge })
        let with = JudgeFactory.standard.judges(
            for: Self.withMirror, continuing: RolloutJudges.Evidence(revision: nil, analysis: Self.withMirror))
        #expect(with.contains { $0 is MirrorMismatchJudge })
    }

    @Test func theRolloutHearsItsIntervalVerdictFromTheCanarysWindow() {
        var judges = RolloutJudges(analysis: Self.withMirror, revision: "v2")
        let canary = ArmWindow(n: 4, failures: 0, mirror: counts(completed: 4, mismatched: 2, body: 2))
        let verdicts = judges.analyseInterval(canary: canary, primary: ArmWindow(n: 4, failures: 0))
        let mine = verdicts.first { $0.judge == MirrorMismatchJudge.verdictName }
        #expect(mine?.outcome == .fail, "50 % > 10 %")
    }

    @Test func theCountsReachTheWindowThroughTheSnapshotDelta() {
        let earlier = ArmSnapshot(mirror: counts(completed: 3, mismatched: 1))
        let later = ArmSnapshot(mirror: counts(completed: 10, mismatched: 4, body: 4))
        let window = ArmWindow(later.delta(since: earlier))
        #expect(window.mirror[.completed] == 7 && window.mirror.mismatched == 3 && window.mirror[.body] == 4)
    }
}
