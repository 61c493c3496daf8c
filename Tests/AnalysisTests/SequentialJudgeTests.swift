// Judge 3 by hand: the mixture's value after known ticks, skipping, the 1/α crossing, stickiness, reset.

import Testing
import Glibc
import Config
@testable import Analysis

@Suite struct SequentialJudgeTests {
    /// M after ticks, straight from JUDGES.md §3's product form (no logarithms).
    func mixture(_ ticks: [(nc: Double, kc: Double, np: Double, kp: Double)]) -> Double {
        SequentialJudge.thetas.map { theta in
            ticks.reduce(1.0) { product, t in
                let q = t.nc / (t.nc + t.np)
                let p = q * theta / (1 - q + q * theta)
                return product * pow(p / q, t.kc) * pow((1 - p) / (1 - q), t.kp)
            }
        }.reduce(0, +) / Double(SequentialJudge.thetas.count)
    }

    @Test func startsAtOneAndPasses() {
        let judge = SequentialJudge(config: SequentialConfig())
        #expect(judge.alpha == 0.01)
        #expect(judge.eValue == 1)
        #expect(judge.verdict.outcome == .pass)
        #expect(judge.verdict.judge == "sequential")
    }

    @Test func evidenceMatchesTheProductForm() {
        var judge = SequentialJudge(alpha: 0.01)
        let ticks: [(nc: Double, kc: Double, np: Double, kp: Double)] = [(10, 1, 90, 0), (12, 0, 88, 2), (9, 2, 95, 1)]
        for t in ticks {
            _ = judge.observe(canaryRequests: UInt64(t.nc), canaryBad: UInt64(t.kc), primaryRequests: UInt64(t.np), primaryBad: UInt64(t.kp))
        }
        #expect(close(judge.eValue, mixture(ticks), relative: 1e-12))
        let v = judge.verdict
        #expect(v.outcome == .pass)
        #expect(v.evidence.contains(.init("canary-requests", 31)))
        #expect(v.evidence.contains(.init("canary-bad", 3)))
        #expect(v.evidence.contains(.init("primary-requests", 273)))
        #expect(v.evidence.contains(.init("primary-bad", 3)))
        #expect(v.evidence.contains(.init("e-value-threshold", 100)))
        #expect(close(v.evidence.first { $0.name == "log10-e-value" }!.value, log10(mixture(ticks)), relative: 1e-12))
    }

    @Test func ticksWithoutRequestsOnAnArmAreSkipped() {
        var judge = SequentialJudge(alpha: 0.01)
        let v = judge.observe(canaryRequests: 50, canaryBad: 50, primaryRequests: 0, primaryBad: 0)
        #expect(v.outcome == .pass)
        #expect(judge.eValue == 1 && judge.ticks == 0 && judge.skippedTicks == 1 && judge.canaryBad == 0)
        _ = judge.observe(canaryRequests: 0, canaryBad: 0, primaryRequests: 50, primaryBad: 3)
        #expect(judge.skippedTicks == 2 && judge.primaryBad == 0)
    }

    @Test func deadCanaryWithAHealthyPrimaryFailsInOneTickAndStaysFailed() {
        var judge = SequentialJudge(alpha: 0.01)
        let first = judge.observe(canaryRequests: 10, canaryBad: 10, primaryRequests: 90, primaryBad: 0)
        #expect(first.outcome == .fail)
        #expect(close(judge.eValue, mixture([(10, 10, 90, 0)]), relative: 1e-12))
        #expect(judge.eValue >= 100)
        #expect(first.summary.hasPrefix("sequential (failures): e-value 10^"))
        // Evidence against the canary afterwards does not undo a crossing.
        let later = judge.observe(canaryRequests: 10, canaryBad: 0, primaryRequests: 90, primaryBad: 90)
        #expect(later.outcome == .fail)
        judge.reset()
        #expect(judge.eValue == 1 && !judge.failed && judge.ticks == 0)
    }

    @Test func crossesExactlyWhenTheMixtureReachesOneOverAlpha() {
        var judge = SequentialJudge(alpha: 0.01)
        var ticks: [(nc: Double, kc: Double, np: Double, kp: Double)] = []
        // One canary failure per tick at a 10 % share: M grows by at most 30/3.9 per tick.
        for _ in 0..<20 {
            ticks.append((10, 1, 90, 0))
            let failed = judge.update(canaryRequests: 10, canaryBad: 1, primaryRequests: 90, primaryBad: 0)
            #expect(failed == (mixture(ticks) >= 100))
            if failed { break }
        }
        #expect(judge.failed)
    }

    @Test func proportionalBadEventsLowerTheEvidence() {
        var judge = SequentialJudge(alpha: 0.01, events: "slow requests")
        for _ in 0..<50 { judge.update(canaryRequests: 10, canaryBad: 1, primaryRequests: 90, primaryBad: 9) }
        #expect(judge.eValue < 0.2)
        #expect(judge.verdict.summary.hasPrefix("sequential (slow requests)"))
    }

    @Test func hugeEvidenceStaysFinite() {
        var judge = SequentialJudge(alpha: 0.01)
        for _ in 0..<10_000 { judge.update(canaryRequests: 1000, canaryBad: 1000, primaryRequests: 9000, primaryBad: 0) }
        #expect(judge.logEValue.isFinite && judge.eValue.isFinite)
    }
}
