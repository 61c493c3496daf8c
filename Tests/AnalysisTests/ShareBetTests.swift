// One class's bet by hand: episodes (open, closed by a quiet tick or by length), the wealth an episode is worth, its bound.

import Testing
import Glibc
@testable import Analysis
import Simulation

@Suite struct ShareBetTests {
    /// ln of the mixture's wealth after episodes of canary share `x` against expected share `qBar`,
    /// straight from the product form 1 − s + s·X/q̄ (no logarithms until the end).
    static func logMixture(_ episodes: [(x: Double, qBar: Double)]) -> Double {
        let wealth = ShareBet.stakes.map { s in episodes.reduce(1.0) { $0 * (1 - s + s * $1.x / $1.qBar) } }
        return log(wealth.reduce(0, +) / Double(ShareBet.stakes.count))
    }

    /// The most one episode can add to ln E at canary share q: ln(1 + s_max (1/q − 1)), s_max = 0.85.
    static func episodeBound(q: Double) -> Double { log(1 + ShareBet.stakes.max()! * (1 / q - 1)) }

    @Test func stakesAndEpisodeLengthAreWhatTheBoundsAssume() {
        // Every stake in (0, 1): the factor 1 − s + s·X/q̄ is positive, and bounded by 1 + s (1/q̄ − 1).
        #expect(ShareBet.stakes.allSatisfy { $0 > 0 && $0 < 1 })
        // Episodes span ticks (the tests below group up to three ticks into one).
        #expect(ShareBet.maxEpisodeTicks > 3)
        let bet = ShareBet()
        #expect(bet.logEValue == 0 && bet.episodes == 0)
        #expect(bet.logWealth.count == ShareBet.stakes.count)
    }

    @Test func consecutiveTicksWithEventsAreOneEpisodeClosedByAQuietTick() {
        var bet = ShareBet()
        let opened = [
            bet.observe(canaryBad: 1, primaryBad: 0, canaryShare: 0.1),
            bet.observe(canaryBad: 0, primaryBad: 2, canaryShare: 0.1),
            bet.observe(canaryBad: 3, primaryBad: 1, canaryShare: 0.1),
        ]
        #expect(opened == [false, false, false])
        // Still open: nothing judged yet.
        #expect(bet.episodes == 0 && bet.logEValue == 0)
        #expect(bet.canaryBad == 4 && bet.primaryBad == 3)
        // The quiet tick closes it: one episode with X = 4/7 against q̄ = 0.1.
        let closed = bet.observe(canaryBad: 0, primaryBad: 0, canaryShare: 0.1)
        #expect(closed)
        #expect(bet.episodes == 1)
        #expect(close(bet.logEValue, Self.logMixture([(4.0 / 7, 0.1)]), relative: 1e-12))
        // Further quiet ticks close nothing.
        let again = bet.observe(canaryBad: 0, primaryBad: 0, canaryShare: 0.1)
        #expect(!again)
        #expect(bet.episodes == 1)
    }

    @Test func anEpisodeClosesAfterMaxEpisodeTicks() {
        var bet = ShareBet()
        let n = ShareBet.maxEpisodeTicks
        var closedAt: [Int] = []
        for t in 1...(2 * n + 3) where bet.observe(canaryBad: 1, primaryBad: 1, canaryShare: 0.5) { closedAt.append(t) }
        #expect(closedAt == [n, 2 * n])
        #expect(bet.episodes == 2)
        // The three ticks since are an open episode, which the quiet tick closes.
        let closed = bet.observe(canaryBad: 0, primaryBad: 0, canaryShare: 0.5)
        #expect(closed)
        #expect(bet.episodes == 3)
        // X = q̄ every time: the wealth does not move.
        #expect(abs(bet.logEValue) < 1e-15)
    }

    /// q̄ is the event-weighted mean of the ticks' canary shares.
    @Test func theExpectedShareWeighsEachTickByItsEvents() {
        var bet = ShareBet()
        bet.observe(canaryBad: 1, primaryBad: 1, canaryShare: 0.1)
        bet.observe(canaryBad: 2, primaryBad: 0, canaryShare: 0.2)
        bet.observe(canaryBad: 0, primaryBad: 0, canaryShare: 0.2)
        // X = 3/4, q̄ = (2 · 0.1 + 2 · 0.2) / 4 = 0.15.
        #expect(close(bet.logEValue, Self.logMixture([(0.75, 0.15)]), relative: 1e-12))
    }

    /// An episode in which one arm had no traffic (q̄ = 1 or 0) says nothing and is not counted.
    @Test func episodesWithoutTrafficOnAnArmAreNotJudged() {
        var bet = ShareBet()
        bet.observe(canaryBad: 50, primaryBad: 0, canaryShare: 1)
        let closed = bet.observe(canaryBad: 0, primaryBad: 0, canaryShare: 1)
        #expect(!closed)
        bet.observe(canaryBad: 0, primaryBad: 7, canaryShare: 0)
        let closedToo = bet.observe(canaryBad: 0, primaryBad: 0, canaryShare: 0)
        #expect(!closedToo)
        #expect(bet.episodes == 0 && bet.logEValue == 0)
        #expect(bet.canaryBad == 50 && bet.primaryBad == 7)
    }

    /// One episode moves ln E by at most ln(1 + 0.85 (1/q − 1)), whatever it holds and however long it
    /// is; at X = 1 by exactly the mixture's ln mean(1 + s (1/q − 1)).
    @Test func oneEpisodeIsWorthAtMostOneOverQ() {
        for q in [0.01, 0.05, 0.1, 0.3, 0.5] {
            var bet = ShareBet()
            for _ in 0..<max(1, ShareBet.maxEpisodeTicks - 1) { bet.observe(canaryBad: 1_000, primaryBad: 0, canaryShare: q) }
            bet.observe(canaryBad: 0, primaryBad: 0, canaryShare: q)
            #expect(bet.episodes == 1)
            #expect(bet.logEValue <= Self.episodeBound(q: q))
            #expect(close(bet.logEValue, Self.logMixture([(1, q)]), relative: 1e-12), "q \(q)")
        }
        // Random episodes: every closing moves ln E by at most the bound at its q̄ ≥ 0.05.
        var rng = Xoshiro256(seed: 0x5BE7_0001)
        var bet = ShareBet()
        var before = bet.logEValue, minimumShare = 1.0
        for _ in 0..<20_000 {
            let q = 0.05 + 0.9 * rng.uniform()
            minimumShare = min(minimumShare, q)
            let quiet = rng.uniform() < 0.3
            let closed = bet.observe(canaryBad: quiet ? 0 : rng.next() % 6, primaryBad: quiet ? 0 : rng.next() % 3, canaryShare: q)
            if closed {
                #expect(bet.logEValue - before <= Self.episodeBound(q: 0.05) + 1e-12)
                before = bet.logEValue
            }
        }
        #expect(bet.episodes > 1_000)
    }

    /// Under H0 the wealth is a martingale: with k events each on the canary with probability q, the
    /// expected E after the episode, summed exactly over the binomial outcomes, is 1; after two
    /// episodes too. (A bet whose factor were not 1 − s + s·X/q̄ would miss it.)
    @Test func theWealthHasMeanOneUnderTheNull() {
        func binomial(_ k: Int, _ j: Int, _ q: Double) -> Double {
            var c = 1.0
            for i in 0..<j { c = c * Double(k - i) / Double(i + 1) }
            return c * pow(q, Double(j)) * pow(1 - q, Double(k - j))
        }
        for q in [0.1, 0.3, 0.5] {
            for k in 1...5 {
                var mean = 0.0
                for j in 0...k {
                    var bet = ShareBet()
                    bet.observe(canaryBad: UInt64(j), primaryBad: UInt64(k - j), canaryShare: q)
                    bet.observe(canaryBad: 0, primaryBad: 0, canaryShare: q)
                    mean += binomial(k, j, q) * exp(bet.logEValue)
                }
                #expect(abs(mean - 1) < 1e-12, "q \(q), k \(k): mean \(mean)")
            }
            // Two episodes, of 2 then 3 events and of 3 then 2 (the second staked at 2/3: a smaller
            // episode than the average so far): the stake is fixed before the episode, the mean stays 1.
            for (first, second) in [(2, 3), (3, 2)] {
                var mean = 0.0
                for a in 0...first {
                    for b in 0...second {
                        var bet = ShareBet()
                        bet.observe(canaryBad: UInt64(a), primaryBad: UInt64(first - a), canaryShare: q)
                        bet.observe(canaryBad: 0, primaryBad: 0, canaryShare: q)
                        bet.observe(canaryBad: UInt64(b), primaryBad: UInt64(second - b), canaryShare: q)
                        bet.observe(canaryBad: 0, primaryBad: 0, canaryShare: q)
                        mean += binomial(first, a, q) * binomial(second, b, q) * exp(bet.logEValue)
                    }
                }
                #expect(abs(mean - 1) < 1e-12, "q \(q), episodes of \(first) and \(second): mean \(mean)")
            }
        }
    }

    /// An episode smaller than the average of the earlier ones is staked in proportion, min(1, K / K̄):
    /// a canary's small bursts (its share of per-arm bursts) weigh less than the primary's large ones.
    @Test func smallerEpisodesAreStakedLess() {
        var bet = ShareBet()
        // First episode: 4 events, all on the primary (X = 0 at q = 0.5): each wealth × (1 − s).
        bet.observe(canaryBad: 0, primaryBad: 4, canaryShare: 0.5)
        bet.observe(canaryBad: 0, primaryBad: 0, canaryShare: 0.5)
        #expect(bet.episodeEvents == 4)
        // Second: one canary event at q = 0.1, a quarter of the average size: stake s / 4.
        bet.observe(canaryBad: 1, primaryBad: 0, canaryShare: 0.1)
        bet.observe(canaryBad: 0, primaryBad: 0, canaryShare: 0.1)
        let expected = ShareBet.stakes.map { s in (1 - s) * (1 + s * 0.25 * (1 / 0.1 - 1)) }.reduce(0, +) / Double(ShareBet.stakes.count)
        #expect(close(bet.logEValue, log(expected), relative: 1e-12))
        // Third: 8 events, above the average (2.5): the full stake again.
        let before = bet.logWealth
        bet.observe(canaryBad: 8, primaryBad: 0, canaryShare: 0.1)
        bet.observe(canaryBad: 0, primaryBad: 0, canaryShare: 0.1)
        for (j, s) in ShareBet.stakes.enumerated() {
            #expect(close(bet.logWealth[j] - before[j], log(1 + s * (1 / 0.1 - 1)), relative: 1e-12))
        }
        #expect(bet.episodes == 3 && bet.episodeEvents == 13)
    }
}
