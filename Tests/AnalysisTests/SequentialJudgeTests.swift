// Judge 3 by hand: bursts that count once, each class failing on its own, a better canary, stickiness, persistence.

import Testing
import Foundation
import Config
@testable import Analysis

@Suite struct SequentialJudgeTests {
    /// A tick at 10 % weight: 10 canary and 90 primary requests, with the given bad events.
    static func tick(
        canary: OutcomeCounts = OutcomeCounts(responses: 10), primary: OutcomeCounts = OutcomeCounts(responses: 90)
    )
        -> (canary: OutcomeCounts, primary: OutcomeCounts)
    { (canary, primary) }
    static let quiet = tick()

    /// M = Σ_c w_c E_c when class `c` alone has seen `episodes` episodes in which the canary held every
    /// bad event at share q (each E_c = mean over the stakes of (1 + s (1/q − 1))^episodes).
    static func mixture(after episodes: Int, of c: OutcomeClass, q: Double) -> Double {
        let e = ShareBet.stakes.map { pow(1 + $0 * (1 / q - 1), Double(episodes)) }.reduce(0, +) / Double(ShareBet.stakes.count)
        let w = SequentialJudge.weights[c]!
        return w * e + (1 - w)
    }

    /// The episodes of canary-only events a class needs to reach 1/α alone.
    static func episodesToFail(_ c: OutcomeClass, q: Double, alpha: Double) -> Int {
        var k = 1
        while mixture(after: k, of: c, q: q) < 1 / alpha { k += 1 }
        return k
    }

    @Test func startsAtOneAndPasses() {
        let judge = SequentialJudge(config: SequentialConfig())
        #expect(judge.alpha == 0.01)
        #expect(abs(judge.logEValue) < 1e-15)
        #expect(judge.verdict.outcome == .pass)
        #expect(judge.verdict.judge == "sequential")
        #expect(close(judge.logThreshold, log(100)))
        // The classes share α: weights positive, summing to 1, one per class.
        #expect(close(SequentialJudge.weights.values.reduce(0, +), 1, relative: 1e-15))
        #expect(OutcomeClass.allCases.allSatisfy { (SequentialJudge.weights[$0] ?? 0) > 0 })
    }

    /// (a) Three canary failures in one tick at 10 % weight are one episode: M = w_5xx · mean(1 + 9s) + (1 − w_5xx)
    /// (2.76 with w_5xx = 0.4), far from 1/α = 100 (the per-event judge it replaced crossed on this tick).
    @Test func aBurstOfThreeInOneTickDoesNotFail() {
        var judge = SequentialJudge(alpha: 0.01)
        let burst = Self.tick(canary: OutcomeCounts(responses: 10, serverErrors: 3))
        let failed = judge.update(canary: burst.canary, primary: burst.primary)
        #expect(!failed)
        for _ in 0..<5 {
            let failed = judge.update(canary: Self.quiet.canary, primary: Self.quiet.primary)
            #expect(!failed)
        }
        #expect(!judge.failed)
        #expect(close(exp(judge.logEValue), Self.mixture(after: 1, of: .serverError, q: 0.1), relative: 1e-12))
        #expect(exp(judge.logEValue) < 0.1 / judge.alpha)
        #expect(judge.bets[OutcomeClass.serverError.rawValue].episodes == 1)
    }

    /// (b) One tick with 8 canary failures moves the class's ln E by at most ln(1 + s_max (1/q − 1)),
    /// s_max the largest stake (0.85).
    @Test func oneTickMovesTheEvidenceByAtMostOneOverQ() {
        var judge = SequentialJudge(alpha: 0.01)
        let burst = Self.tick(canary: OutcomeCounts(responses: 10, serverErrors: 8))
        judge.update(canary: burst.canary, primary: burst.primary)
        judge.update(canary: Self.quiet.canary, primary: Self.quiet.primary)
        let moved = judge.logEValue(.serverError)
        #expect(moved > 0)
        let bound = log(1 + ShareBet.stakes.max()! * (1 / 0.1 - 1))
        #expect(moved <= bound)
        // The same after evidence has built up: a second burst adds at most as much again.
        let before = judge.logEValue(.serverError)
        judge.update(canary: burst.canary, primary: burst.primary)
        judge.update(canary: Self.quiet.canary, primary: Self.quiet.primary)
        #expect(judge.logEValue(.serverError) - before <= bound + 1e-12)
    }

    /// (c) A canary better than the primary — every bad event of every class on the primary — never
    /// fails, and its evidence falls below 1.
    @Test func aBetterCanaryNeverFailsAndItsEvidenceFalls() {
        var judge = SequentialJudge(alpha: 0.01)
        let primaryBad = Self.tick(primary: OutcomeCounts(responses: 90, aborts: 1, serverErrors: 2, clientErrors: 3, slow: 4))
        for _ in 0..<500 {
            let failedOnEvents = judge.update(canary: primaryBad.canary, primary: primaryBad.primary)
            let failedOnQuiet = judge.update(canary: Self.quiet.canary, primary: Self.quiet.primary)
            #expect(!failedOnEvents && !failedOnQuiet)
        }
        #expect(!judge.failed && judge.verdict.outcome == .pass)
        #expect(judge.logEValue < 0)
        for c in OutcomeClass.allCases {
            #expect(judge.logEValue(c) < -10, "\(c.label)")
            #expect(judge.bets[c.rawValue].episodes == 500)
        }
    }

    /// (d) The canary taking every 5xx, one each tick at 10 % weight: every tick has an event, so
    /// episodes last `maxEpisodeTicks`; the judge fails when the k-th episode closes, k the least with
    /// M ≥ 1/α (4 with the stakes and weights of 4d5e9d6: M = 99.96 after 3) — within a few seconds.
    @Test func aCanaryTakingEvery5xxFailsWithinSeconds() {
        var judge = SequentialJudge(alpha: 0.01)
        let k = Self.episodesToFail(.serverError, q: 0.1, alpha: 0.01)
        #expect(k * ShareBet.maxEpisodeTicks <= 50)
        let failing = Self.tick(canary: OutcomeCounts(responses: 10, serverErrors: 1))
        var failedAt: Int?
        for t in 1...100 where judge.update(canary: failing.canary, primary: failing.primary) {
            failedAt = t
            break
        }
        #expect(failedAt == k * ShareBet.maxEpisodeTicks)
        #expect(judge.leadingClass == .serverError)
        let v = judge.verdict
        #expect(v.outcome == .fail)
        #expect(v.summary.hasPrefix("e-value 10^"))
        #expect(v.summary.contains("≥ 10^2.00 = 1/α, led by 5xx (canary \(failedAt ?? 0) vs primary 0 over \(k) episodes"))
        #expect(statesOnlyTrueInequalities(v.summary), "\(v.summary)")
    }

    /// (e) 4xx, aborts and slow responses each fail the judge on their own (on their share of α, no sooner
    /// than 5xx would), with the other classes untouched.
    @Test(arguments: [OutcomeClass.clientError, .abort, .slow])
    func eachClassFailsTheJudgeAlone(_ c: OutcomeClass) {
        var judge = SequentialJudge(alpha: 0.01)
        let canary: OutcomeCounts =
            switch c {
            case .serverError: OutcomeCounts(responses: 10, serverErrors: 1)
            case .clientError: OutcomeCounts(responses: 10, clientErrors: 1)
            case .abort: OutcomeCounts(responses: 9, aborts: 1)
            case .slow: OutcomeCounts(responses: 10, slow: 1)
            }
        let primary = OutcomeCounts(responses: 90)
        #expect(Double(canary.population(c)) / Double(canary.population(c) + primary.population(c)) == 0.1)
        let k = Self.episodesToFail(c, q: 0.1, alpha: 0.01)
        #expect(k >= Self.episodesToFail(.serverError, q: 0.1, alpha: 0.01))
        var episodes = 0
        while !judge.failed && episodes < 20 {
            judge.update(canary: canary, primary: primary)
            judge.update(canary: Self.quiet.canary, primary: Self.quiet.primary)
            episodes += 1
        }
        #expect(judge.failed)
        #expect(episodes == k)
        #expect(close(exp(judge.logEValue), Self.mixture(after: k, of: c, q: 0.1), relative: 1e-9))
        #expect(judge.leadingClass == c)
        for other in OutcomeClass.allCases where other != c { #expect(judge.logEValue(other) == 0) }
        let v = judge.verdict
        #expect(v.summary.contains("led by \(c.label) (canary \(k) vs primary 0 over \(k) episodes"))
        #expect(v.evidence.contains(.init("episodes-\(c.label)", Double(k))))
        #expect(v.evidence.contains(.init("alpha-\(c.label)", 0.01 * SequentialJudge.weights[c]!)))
    }

    @Test func theFailureIsStickyAndTheVerdictCarriesEveryClass() {
        var judge = SequentialJudge(alpha: 0.01)
        let dead = Self.tick(canary: OutcomeCounts(responses: 10, serverErrors: 10))
        var deadTicks = 0
        while !judge.failed && deadTicks < 200 {
            judge.update(canary: dead.canary, primary: dead.primary)
            deadTicks += 1
        }
        #expect(judge.failed)
        // Evidence for the canary afterwards does not undo the crossing.
        let better = Self.tick(primary: OutcomeCounts(responses: 90, serverErrors: 90))
        for _ in 0..<200 {
            judge.update(canary: better.canary, primary: better.primary)
            judge.update(canary: Self.quiet.canary, primary: Self.quiet.primary)
        }
        #expect(judge.logEValue < judge.logThreshold)
        #expect(judge.failed && judge.verdict.outcome == .fail)
        // The summary says the e-value reached 1/α, not that it is there now.
        #expect(statesOnlyTrueInequalities(judge.verdict.summary), "\(judge.verdict.summary)")
        #expect(judge.verdict.summary.hasPrefix("e-value reached 10^2.00 = 1/α (now 10^"), "\(judge.verdict.summary)")
        let names = judge.verdict.evidence.map(\.name)
        for c in OutcomeClass.allCases {
            for prefix in ["log10-e-value-", "alpha-", "canary-", "primary-", "episodes-"] { #expect(names.contains(prefix + c.label)) }
        }
        let expectedRequests = Double(deadTicks * 10 + 200 * 10 + 200 * 10)
        #expect(judge.verdict.evidence.contains(Verdict.Evidence("canary-requests", expectedRequests)))
        #expect(judge.ticks == deadTicks + 400)
    }

    /// M is the weighted sum of the classes' e-values, in logarithms.
    @Test func theEvidenceIsTheWeightedSumOfTheClasses() {
        var judge = SequentialJudge(alpha: 0.05)
        let ticks: [(OutcomeCounts, OutcomeCounts)] = [
            (OutcomeCounts(responses: 12, aborts: 1, serverErrors: 1), OutcomeCounts(responses: 88, clientErrors: 2)),
            (OutcomeCounts(responses: 10, slow: 2), OutcomeCounts(responses: 90, serverErrors: 1, slow: 1)),
            (OutcomeCounts(responses: 11), OutcomeCounts(responses: 89)),
            (OutcomeCounts(responses: 9, clientErrors: 1), OutcomeCounts(responses: 91, aborts: 2)),
            (OutcomeCounts(responses: 10), OutcomeCounts(responses: 90)),
        ]
        for (c, p) in ticks { judge.update(canary: c, primary: p) }
        let m = OutcomeClass.allCases.map { SequentialJudge.weights[$0]! * exp(judge.logEValue($0)) }.reduce(0, +)
        #expect(close(judge.logEValue, log(m), relative: 1e-12))
        #expect(judge.bets.map(\.episodes).reduce(0, +) == 6)
        #expect(close(judge.verdict.evidence.first { $0.name == "log10-e-value" }!.value, log10(m), relative: 1e-12))
    }

    /// A tick without requests on one arm (weight 100, or 0) is not counted as a tick and its events
    /// are not evidence: which arm is worse cannot be told without the other.
    @Test func ticksWithoutTrafficOnAnArmAreNotEvidence() {
        var judge = SequentialJudge(alpha: 0.01)
        for _ in 0..<100 {
            judge.update(canary: OutcomeCounts(responses: 50, serverErrors: 50), primary: OutcomeCounts())
            judge.update(canary: OutcomeCounts(responses: 50), primary: OutcomeCounts())
        }
        #expect(!judge.failed && judge.ticks == 0 && abs(judge.logEValue) < 1e-15)
        #expect(judge.canaryRequests == 10_000 && judge.bets[0].canaryBad == 5_000)
    }

    @Test func hugeEvidenceStaysFinite() {
        var judge = SequentialJudge(alpha: 0.01)
        for _ in 0..<10_000 {
            judge.update(canary: OutcomeCounts(responses: 1000, serverErrors: 1000), primary: OutcomeCounts(responses: 9000))
            judge.update(canary: OutcomeCounts(responses: 1000), primary: OutcomeCounts(responses: 9000))
        }
        #expect(judge.logEValue.isFinite && judge.logEValue > 1_000)
        #expect(judge.verdict.evidence.allSatisfy { $0.value.isFinite })
    }

    /// (g) The judge is persisted in the state file: encoded mid-way — inside an open episode — and
    /// decoded, it continues exactly as the original does.
    @Test func aDecodedJudgeContinuesIdentically() throws {
        var judge = SequentialJudge(alpha: 0.01)
        func tick(_ i: Int) -> (OutcomeCounts, OutcomeCounts) {
            (
                OutcomeCounts(
                    responses: 10, aborts: UInt64(i % 7 == 0 ? 1 : 0), serverErrors: UInt64(i % 3 == 0 ? 1 : 0),
                    slow: UInt64(i % 5 == 1 ? 2 : 0)),
                OutcomeCounts(responses: 90, serverErrors: UInt64(i % 4 == 0 ? 1 : 0), clientErrors: UInt64(i % 6 == 0 ? 3 : 0))
            )
        }
        for i in 0..<37 { let (c, p) = tick(i); judge.update(canary: c, primary: p) }
        let data = try JSONEncoder().encode(judge)
        var restored = try JSONDecoder().decode(SequentialJudge.self, from: data)
        #expect(restored == judge)
        for i in 37..<120 {
            let (c, p) = tick(i)
            judge.update(canary: c, primary: p)
            restored.update(canary: c, primary: p)
        }
        #expect(restored == judge)
        #expect(restored.logEValue == judge.logEValue)
        #expect(restored.bets.map(\.episodes) == judge.bets.map(\.episodes))
        #expect(judge.bets[OutcomeClass.serverError.rawValue].episodes > 5)
        // It was saved inside open episodes (5xx, 4xx and slow had events on its last tick): a quiet tick closes them.
        var probe = try JSONDecoder().decode(SequentialJudge.self, from: data)
        let episodes = probe.bets.map(\.episodes).reduce(0, +)
        probe.update(canary: OutcomeCounts(responses: 10), primary: OutcomeCounts(responses: 90))
        #expect(probe.bets.map(\.episodes).reduce(0, +) == episodes + 3)
    }
}
