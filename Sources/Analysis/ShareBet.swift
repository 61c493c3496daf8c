// A test martingale that bets, episode by episode, that the canary takes more than its share of one class of bad events.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The evidence of one outcome class against the canary, as the wealth of a bettor (Waudby-Smith &
/// Ramdas, "Estimating means of bounded random variables by betting", JRSS-B 2024; Shafer & Vovk's
/// game-theoretic testing).
///
/// **The unit is an episode, not an event.** Bad events come in clusters — one upstream reset
/// kills every request in flight on that connection, a pod restarting fails every request for a
/// second — and a test that treats each event as independent evidence counts a cluster of k as k
/// proofs. So ticks are grouped into episodes: an episode opens at the first tick with a bad event
/// of this class (on either arm), takes in every following tick that has one, and closes at the
/// first tick that has none, or after `maxEpisodeTicks`. An episode is judged once, whatever it
/// holds: its canary share of the class's bad events,
///
///     X = Σ k_c / Σ (k_c + k_p),   against what H0 expects   q̄ = Σ (k_c + k_p)·q_t / Σ (k_c + k_p),
///
/// where q_t = the canary's share of the tick's requests. Under H0 (random assignment, the canary as
/// good as the primary) each bad event, or each cluster, landed on the canary with probability q_t
/// whatever the totals, so E[X | totals] = q̄ exactly.
///
/// **The bet.** For a stake fraction s ∈ [0, 1) the bettor multiplies its wealth by
/// `1 + (s/q̄)·(X − q̄)` = `1 − s + s·X/q̄` at each episode's end: never negative (X ≥ 0), mean 1
/// under H0, and at most `1 + s(1/q̄ − 1)` — one episode moves the evidence by less than 1/q̄ however
/// many events it holds. The product is a non-negative martingale with mean 1 under H0; so is the
/// average over the grid of stakes `stakes` (a mixture, which adapts to the size of the effect
/// without choosing it in advance). Ville's inequality bounds the chance that it *ever* reaches
/// 1/α by α. It bets only on the canary being worse: a canary better than the primary loses wealth.
///
/// **Small episodes are staked less.** An episode's stake is scaled by its size relative to the
/// average episode so far, min(1, K / K̄) with K̄ from earlier episodes only: predictable, so the
/// guarantee holds (under H0 E[X | K] = q̄ whatever the stake). It matters when bursts come per arm
/// and per unit of time rather than per request — a pod's garbage collection, a periodic job, one
/// endpoint per arm in a sidecar: then each arm has as many bursts as the other, but the canary's,
/// carrying its smaller share of the traffic, are smaller. Counted as equal units they made a canary
/// with exactly the primary's failure rate per request look guilty (measured end to end: bursts every
/// 3 s on both backends, out of phase, rolled back a healthy canary in 45 s).
///
/// **What the episode answers and what it does not.** Clusters within a tick, and clusters spanning
/// ticks with no quiet tick between them (up to `maxEpisodeTicks`), count once. A longer outage of one
/// arm counts as ⌈length / maxEpisodeTicks⌉ episodes. Sustained traffic with a bad event in every tick
/// (rates above ~10 per tick) makes every episode `maxEpisodeTicks` long, which costs speed, not
/// validity. The simulation in benchmarks/analysis measures both (docs/JUDGES.md).
public struct ShareBet: Sendable, Equatable, Codable {
    /// The stake fractions of the mixture, equally weighted.
    public static let stakes: [Double] = [0.15, 0.35, 0.6, 0.85]
    /// An episode still open after this many ticks (one second at 100 ms) is closed and judged.
    public static let maxEpisodeTicks = 10

    /// ln of the wealth per stake.
    public private(set) var logWealth: [Double]
    /// The open episode: canary bad events, all bad events, Σ k·q_t, ticks.
    private var openCanary: Double = 0
    private var openAll: Double = 0
    private var openExpected: Double = 0
    private var openTicks = 0
    /// Totals over the ticks seen, for the verdicts.
    public private(set) var canaryBad: UInt64 = 0
    public private(set) var primaryBad: UInt64 = 0
    /// Episodes judged so far, and the bad events they held.
    public private(set) var episodes = 0
    public private(set) var episodeEvents = 0.0

    public init() {
        logWealth = [Double](repeating: 0, count: Self.stakes.count)
    }

    /// ln of the mixture's wealth (the class's e-value).
    public var logEValue: Double {
        let largest = logWealth.max() ?? 0
        var sum = 0.0
        for value in logWealth { sum += exp(value - largest) }
        return largest + log(sum / Double(logWealth.count))
    }

    /// Feeds one tick: the class's bad events on each arm and the canary's share of the tick's
    /// requests (`q` in [0, 1]). Returns true when an episode closed (the e-value may have moved).
    @discardableResult
    public mutating func observe(canaryBad kc: UInt64, primaryBad kp: UInt64, canaryShare q: Double) -> Bool {
        canaryBad += kc
        primaryBad += kp
        let k = kc + kp
        guard k > 0 else { return closeEpisode() }
        openCanary += Double(kc)
        openAll += Double(k)
        openExpected += Double(k) * q
        openTicks += 1
        return openTicks >= Self.maxEpisodeTicks ? closeEpisode() : false
    }

    /// Judges the open episode, if any.
    private mutating func closeEpisode() -> Bool {
        guard openTicks > 0 else { return false }
        let share = openCanary / openAll, expected = openExpected / openAll, all = openAll
        openCanary = 0; openAll = 0; openExpected = 0; openTicks = 0
        // An episode in which one arm had no traffic at all says nothing about which arm is worse.
        guard expected > 0, expected < 1 else { return false }
        // An episode smaller than the average so far is staked in proportion (see the type's comment).
        let size = episodes == 0 ? 1 : min(1, all / (episodeEvents / Double(episodes)))
        episodes += 1
        episodeEvents += all
        for (j, s) in Self.stakes.enumerated() {
            logWealth[j] += log1p(s * size * (share / expected - 1))
        }
        return true
    }
}
