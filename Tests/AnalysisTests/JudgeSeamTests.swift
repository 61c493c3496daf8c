// The judge seam: the factory builds what the settings ask for, and a judge plugged in through it is heard.

import Testing
import Foundation
import Config
@testable import Analysis

/// A judge written only for these tests: it fails a tick on `failures` canary failures or more, forbids
/// advancing once it has seen a canary failure, and keeps the number of ticks it saw as its memory.
struct TickCountingJudge: Judge {
    struct SeenTicks: JudgeMemory {
        static let key = "test-seen-ticks"
        var count = 0
        /// A memory saved with more than `maxWeight` ticks is not continued (as the sequential judge's at another α).
        var limit = 0
        init(newRolloutUnder analysis: AnalysisConfig) { limit = analysis.maxWeight }
        func holds(under analysis: AnalysisConfig) -> Bool { limit == analysis.maxWeight }
    }

    static let failures: UInt64 = 3
    var seen: SeenTicks
    var sawFailure = false

    init?(configuredBy analysis: AnalysisConfig, continuing evidence: RolloutJudges.Evidence) {
        // Built only where the settings ask for it: here, a route with webhooks named "test-judge".
        guard analysis.webhooks.contains(where: { $0.name == "test-judge" }) else { return nil }
        seen = evidence[SeenTicks.self]
    }

    var name: String { "test" }
    static var memoryType: (any JudgeMemory.Type)? { SeenTicks.self }
    var memory: (any JudgeMemory)? { seen }
    mutating func beginRollout(_ analysis: AnalysisConfig) { seen = SeenTicks(newRolloutUnder: analysis) }

    mutating func observeTick(_ tick: JudgeTick) -> Verdict? {
        seen.count += 1
        sawFailure = sawFailure || tick.canary.failures > 0
        guard tick.canary.failures >= Self.failures else { return nil }
        return Verdict(judge: "test", outcome: .fail, summary: "\(tick.canary.failures) canary failures", evidence: [])
    }

    mutating func analyseInterval(_ interval: inout JudgeInterval) -> [Verdict] {
        [Verdict(judge: "test", outcome: .pass, summary: "saw \(seen.count) ticks", evidence: [.init("ticks", Double(seen.count))])]
    }

    var forbidsAdvance: Bool { sawFailure }
}

@Suite struct JudgeSeamTests {
    static let tick = UInt64(100_000_000)

    /// The standard judges with the test judge between the dead-canary guard and the evidence gate.
    static let factory: JudgeFactory = {
        var kinds = JudgeFactory.standard.kinds
        kinds.insert(TickCountingJudge.self, at: kinds.firstIndex { $0 == PromotionEvidence.self }!)
        return JudgeFactory(kinds: kinds)
    }()

    static var withTestJudge: AnalysisConfig {
        var analysis = AnalysisConfig()
        analysis.webhooks = [HookConfig(name: "test-judge", type: .event, action: .exec(command: ["/bin/true"]))]
        return analysis
    }

    @Test func theStandardFactoryBuildsExactlyTheConfiguredJudges() {
        func names(_ change: (inout AnalysisConfig) -> Void) -> [String] {
            var analysis = AnalysisConfig()
            change(&analysis)
            return RolloutJudges(analysis: analysis, revision: "v2").names
        }
        #expect(names { _ in } == ["comparison", "dead-canary", "evidence", "sequential"])
        #expect(
            names { $0.metrics = [MetricCheckConfig(name: .requestSuccessRate, min: 99)] }
                == ["thresholds", "comparison", "dead-canary", "evidence", "sequential"])
        #expect(names { $0.comparison.enabled = false } == ["dead-canary", "evidence", "sequential"])
        #expect(names { $0.sequential.enabled = false } == ["comparison", "dead-canary", "evidence"])
        #expect(names { $0.requireEvidence = false } == ["comparison", "dead-canary", "sequential"])
        // pace: evidence needs the gate even where the intervals do not ask for its verdict.
        #expect(
            names {
                $0.requireEvidence = false; $0.pace = .evidence
            } == ["comparison", "dead-canary", "evidence", "sequential"])
        // The guard is the one judge no setting turns off.
        #expect(
            names {
                $0.comparison.enabled = false; $0.sequential.enabled = false; $0.requireEvidence = false
            } == ["dead-canary"])
    }

    @Test func aJudgeRegisteredThroughTheFactoryIsBuiltOnlyWhereConfigured() {
        #expect(
            RolloutJudges(analysis: AnalysisConfig(), revision: "v2", factory: Self.factory).names
                == ["comparison", "dead-canary", "evidence", "sequential"])
        #expect(
            RolloutJudges(analysis: Self.withTestJudge, revision: "v2", factory: Self.factory).names
                == ["comparison", "dead-canary", "test", "evidence", "sequential"])
    }

    /// Its failing verdict is the tick's answer (the controller's immediate failure); the judges after it
    /// (the sequential judge) do not see that tick, those before it (the comparison's dispersion) do.
    @Test func aPluggedInJudgesFailingTickVerdictRollsBack() {
        var judges = RolloutJudges(analysis: Self.withTestJudge, revision: "v2", factory: Self.factory)
        for t in 0..<5 {
            #expect(
                judges.observeTick(
                    canary: ArmWindow(n: 10, failures: 0), primary: ArmWindow(n: 90, failures: 0), weight: 10,
                    now: UInt64(t) * Self.tick) == nil)
        }
        let failure = judges.observeTick(
            canary: ArmWindow(n: 10, failures: 3), primary: ArmWindow(n: 90, failures: 0), weight: 10,
            now: 5 * Self.tick)
        #expect(failure?.judge == "test" && failure?.outcome == .fail && failure?.summary == "3 canary failures")
        #expect(judges.evidence[TickCountingJudge.SeenTicks.self].count == 6)
        #expect(judges.evidence.sequential.ticks == 5)
        // The step counted the failing tick before any judge was asked.
        #expect(judges.evidence.step.canary.serverErrors == 3)
        // Its interval verdicts come in the factory's order.
        let verdicts = judges.analyseInterval(canary: ArmWindow(n: 60, failures: 3), primary: ArmWindow(n: 540, failures: 0))
        #expect(verdicts.map(\.judge) == ["comparison-errors", "comparison-latency", "test", "evidence", "sequential"])
        #expect(verdicts[2].evidence == [.init("ticks", 6)])
    }

    /// A judge that forbids advancing stops `pace: evidence` before the gate looks (the look is not spent).
    @Test func aJudgeThatForbidsAdvancingStopsTheGateBeforeItLooks() {
        var analysis = Self.withTestJudge
        analysis.pace = .evidence
        analysis.minDwell = .seconds(1)
        var judges = RolloutJudges(analysis: analysis, revision: "v2", factory: Self.factory)
        for t in 1...20 {
            _ = judges.observeTick(
                canary: ArmWindow(n: 1_000, failures: 0), primary: ArmWindow(n: 9_000, failures: 0), weight: 10,
                now: UInt64(t) * Self.tick)
        }
        var forbidding = judges
        _ = forbidding.observeTick(
            canary: ArmWindow(n: 1_000, failures: 1), primary: ArmWindow(n: 9_000, failures: 0), weight: 10,
            now: 21 * Self.tick)
        _ = judges.observeTick(
            canary: ArmWindow(n: 1_000, failures: 0), primary: ArmWindow(n: 9_000, failures: 0), weight: 10,
            now: 21 * Self.tick)
        let forbidden = forbidding.evidenceAllowsAdvance(now: 22 * Self.tick)
        #expect(!forbidden && forbidding.evidence.step.looks == 0)
        let allowed = judges.evidenceAllowsAdvance(now: 22 * Self.tick)
        #expect(allowed && judges.evidence.step.looks == 1)
    }

    /// A judge's memory goes with the evidence: continued for the same rollout, new for a new one, and a
    /// memory that no longer holds drops the restored evidence whole.
    @Test func aPluggedInJudgesMemoryIsKeptWithTheEvidence() {
        var judges = RolloutJudges(analysis: Self.withTestJudge, revision: "v2", factory: Self.factory)
        for t in 0..<7 {
            _ = judges.observeTick(
                canary: ArmWindow(n: 10, failures: 0), primary: ArmWindow(n: 90, failures: 0), weight: 10,
                now: UInt64(t) * Self.tick)
        }
        let saved = judges.evidence
        #expect(saved[TickCountingJudge.SeenTicks.self].count == 7)
        let restored = RolloutJudges(analysis: Self.withTestJudge, revision: "v2", restored: saved, factory: Self.factory)
        #expect(restored.evidence == saved)
        var other = Self.withTestJudge
        other.maxWeight = 30
        let dropped = RolloutJudges(analysis: other, revision: "v2", restored: saved, factory: Self.factory)
        #expect(dropped.evidence == RolloutJudges.Evidence(revision: "v2", analysis: other, factory: Self.factory))
        #expect(dropped.evidence.sequential.ticks == 0)
        judges.beginRollout(revision: "v3")
        #expect(judges.evidence[TickCountingJudge.SeenTicks.self].count == 0)
    }

    /// A reload that changes the settings rebuilds the judges: the ones still asked for carry on (the
    /// guard's last second), one turned off keeps its memory in the evidence, and continues it when turned on again.
    @Test func aReloadKeepsTheJudgesStillAskedForAndTheMemoryOfTheOthers() {
        // A canary failing every request, as the primary does: the guard's case, and no evidence for the sequential judge.
        var judges = RolloutJudges(analysis: AnalysisConfig(), revision: "v2")
        for t in 0..<5 {
            #expect(
                judges.observeTick(
                    canary: ArmWindow(n: 1, failures: 1), primary: ArmWindow(n: 90, failures: 90), weight: 10,
                    now: UInt64(t) * Self.tick) == nil)
        }
        let ticks = judges.evidence.sequential.ticks
        var off = AnalysisConfig()
        off.sequential.enabled = false
        judges.analysis = off
        #expect(judges.names == ["comparison", "dead-canary", "evidence"])
        #expect(judges.evidence.sequential.ticks == ticks)
        for t in 5..<9 {
            #expect(
                judges.observeTick(
                    canary: ArmWindow(n: 1, failures: 1), primary: ArmWindow(n: 90, failures: 90), weight: 10,
                    now: UInt64(t) * Self.tick) == nil)
        }
        #expect(judges.evidence.sequential.ticks == ticks)
        judges.analysis = AnalysisConfig()
        #expect(judges.names == ["comparison", "dead-canary", "evidence", "sequential"])
        // The guard was not rebuilt: it has judged since tick 0, so its whole second ends at tick 9.
        #expect(
            judges.observeTick(
                canary: ArmWindow(n: 1, failures: 1), primary: ArmWindow(n: 90, failures: 90), weight: 10,
                now: 9 * Self.tick)?.judge == "dead-canary")
    }

    /// The state file's evidence as the build before the judge seam wrote it still loads, and is written
    /// back under the same keys, the comparison's memory a bare number.
    @Test func evidenceInTheEarlierFormatLoads() throws {
        let bet =
            #"{"logWealth":[0.5,0,0,0],"openCanary":0,"openAll":0,"openExpected":0,"openTicks":0,"canaryBad":2,"primaryBad":9,"episodes":3,"episodeEvents":11}"#
        let idle =
            #"{"logWealth":[0,0,0,0],"openCanary":0,"openAll":0,"openExpected":0,"openTicks":0,"canaryBad":0,"primaryBad":0,"episodes":0,"episodeEvents":0}"#
        let counts = #"{"responses":70,"aborts":0,"serverErrors":2,"clientErrors":0,"slow":0,"slowPopulation":70}"#
        let json =
            #"{"revision":"v2","sequential":{"alpha":0.01,"bets":["# + [bet, idle, idle, idle].joined(separator: ",")
            + #"],"ticks":7,"canaryRequests":70,"primaryRequests":630,"failed":false},"comparedIntervals":3,"#
            + #""step":{"weight":10,"canary":"# + counts + #","primary":"# + counts + #","looks":2}}"#
        let evidence = try JSONDecoder().decode(RolloutJudges.Evidence.self, from: Data(json.utf8))
        #expect(evidence.revision == "v2" && evidence.comparedIntervals == 3 && evidence.step.looks == 2)
        #expect(evidence.sequential.ticks == 7 && evidence.sequential.bets[0].canaryBad == 2)
        let judges = RolloutJudges(analysis: AnalysisConfig(), revision: "v2", restored: evidence)
        #expect(judges.evidence == evidence)
        #expect(judges.comparisonAlphaRemaining == 0.01 / 4)

        let written = try JSONSerialization.jsonObject(with: JSONEncoder().encode(judges.evidence)) as! [String: Any]
        #expect(Set(written.keys) == ["revision", "sequential", "comparedIntervals", "step"])
        #expect(written["comparedIntervals"] as? Int == 3)
    }

    /// A memory the file lacks (a judge added since it was written) starts new; the rest continues.
    @Test func evidenceWithoutAJudgesMemoryContinuesTheOthers() throws {
        var judges = RolloutJudges(analysis: AnalysisConfig(), revision: "v2")
        _ = judges.analyseInterval(canary: ArmWindow(n: 1_200, failures: 40), primary: ArmWindow(n: 10_800, failures: 24))
        var written = try JSONSerialization.jsonObject(with: JSONEncoder().encode(judges.evidence)) as! [String: Any]
        written["comparedIntervals"] = nil
        let lacking = try JSONDecoder().decode(RolloutJudges.Evidence.self, from: JSONSerialization.data(withJSONObject: written))
        let restored = RolloutJudges(analysis: AnalysisConfig(), revision: "v2", restored: lacking)
        #expect(restored.evidence.comparedIntervals == 0)
        #expect(restored.evidence.step == judges.evidence.step && restored.evidence.step.looks == 1)
        #expect(restored.evidence.sequential == judges.evidence.sequential)
    }
}
