// Simulated canary rollouts for the calibration and power tests: Poisson traffic per tick, 5xx alone or in clusters.

import Glibc
@testable import Analysis
import Simulation

/// Traffic of one rollout: a total rate split by the canary weight, each arm failing (5xx)
/// independently of the other.
struct SimulatedTraffic {
    var requestsPerSecond: Double
    var canaryWeight: Double
    var canaryFailureRate: Double
    var primaryFailureRate: Double
    var tickSeconds = 0.1
    /// When set, an arm's failures come in clusters (one reset connection, one restarting pod): each
    /// cluster's size is uniform in this range, and an arm has Poisson(n · rate / mean size) clusters in
    /// a tick, so the expected failures per request is still the arm's failure rate.
    var clusterSizes: ClosedRange<UInt64>?

    /// `n` requests' failures at `rate`: binomial, or clustered (capped at `n`).
    func failures(_ n: UInt64, _ rate: Double, _ rng: inout Xoshiro256) -> UInt64 {
        guard let sizes = clusterSizes else { return rng.binomial(n, rate) }
        let meanSize = Double(sizes.lowerBound + sizes.upperBound) / 2
        let clusters = rng.poisson(Double(n) * rate / meanSize)
        var k: UInt64 = 0
        for _ in 0..<clusters { k += sizes.lowerBound + rng.next() % (sizes.upperBound - sizes.lowerBound + 1) }
        return min(k, n)
    }

    /// One tick's counts of both arms; each arm's requests are Poisson (the split of Poisson traffic).
    func tick(_ rng: inout Xoshiro256) -> (canary: OutcomeCounts, primary: OutcomeCounts) {
        let nc = rng.poisson(requestsPerSecond * canaryWeight * tickSeconds)
        let np = rng.poisson(requestsPerSecond * (1 - canaryWeight) * tickSeconds)
        let kc = failures(nc, canaryFailureRate, &rng), kp = failures(np, primaryFailureRate, &rng)
        return (OutcomeCounts(responses: nc, serverErrors: kc), OutcomeCounts(responses: np, serverErrors: kp))
    }

    /// Runs the sequential judge (and, if asked, the dead-canary rule on a rolling one-second window
    /// from the tenth tick on, as `RolloutJudges` does) for at most `ticks` ticks; the 1-based tick at which either failed, nil if none did.
    func firstFailure(ticks: Int, alpha: Double, deadCanaryGuard: Bool, rng: inout Xoshiro256) -> Int? {
        var judge = SequentialJudge(alpha: alpha)
        let rule = DeadCanaryRule()
        let window = max(1, Int((1 / tickSeconds).rounded()))
        var recent = [(UInt64, UInt64)](repeating: (0, 0), count: window)
        var windowRequests: UInt64 = 0, windowFailures: UInt64 = 0
        for t in 1...ticks {
            let (canary, primary) = tick(&rng)
            if judge.update(canary: canary, primary: primary) { return t }
            if deadCanaryGuard {
                let slot = t % window
                windowRequests = windowRequests - recent[slot].0 + canary.responses
                windowFailures = windowFailures - recent[slot].1 + canary.serverErrors
                recent[slot] = (canary.responses, canary.serverErrors)
                // RolloutJudges consults the rule only once it has judged a whole second.
                if t >= window && rule.isDead(canaryRequests: windowRequests, canaryFailures: windowFailures) { return t }
            }
        }
        return nil
    }
}

extension SimulatedTraffic {
    /// A contrast for the calibration tests: the same bet fed one 5xx at a time, each its own episode —
    /// a judge that counts events rather than episodes, as the one before 4d5e9d6 did. The 1-based
    /// tick at which w_5xx · E + (1 − w_5xx) reached 1/α, nil if it never did.
    func firstPerEventFailure(ticks: Int, alpha: Double, rng: inout Xoshiro256) -> Int? {
        var bet = ShareBet()
        let w = SequentialJudge.weights[.serverError]!, threshold = log((1 / alpha - (1 - w)) / w)
        for t in 1...ticks {
            let (canary, primary) = tick(&rng)
            guard canary.responses > 0, primary.responses > 0 else { continue }
            let q = Double(canary.responses) / Double(canary.responses + primary.responses)
            for _ in 0..<canary.serverErrors {
                bet.observe(canaryBad: 1, primaryBad: 0, canaryShare: q); bet.observe(canaryBad: 0, primaryBad: 0, canaryShare: q)
            }
            for _ in 0..<primary.serverErrors {
                bet.observe(canaryBad: 0, primaryBad: 1, canaryShare: q); bet.observe(canaryBad: 0, primaryBad: 0, canaryShare: q)
            }
            if bet.logEValue >= threshold { return t }
        }
        return nil
    }
}

/// The binomial bound on an observed rate whose true value is at most `rate`: rate + 3σ over `runs`
/// (exceeded with probability ≈ 0.1 % if the true rate were exactly `rate`).
func threeSigmaBound(_ rate: Double, runs: Int) -> Double {
    rate + 3 * (rate * (1 - rate) / Double(runs)).squareRoot()
}

/// Every inequality a summary states between two figures ("9.71 ms > 6 ms", "p=0.0123 ≤ α=0.005",
/// "10^-0.52 < 10^2.00") as (left, operator, right, the matched text).
func statedInequalities(_ summary: String) -> [(left: Double, op: String, right: Double, text: String)] {
    let number = #"(-?[0-9]+(?:\.[0-9]+)?(?:e-?[0-9]+)?)"#
    let pattern = try! Regex(#"(?:10\^)?"# + number + #"\s*(?:ms|%|×|pts)?\s*(≤|≥|<|>)\s*(?:[A-Za-zα]+=)?(?:10\^)?"# + number)
    return summary.matches(of: pattern).compactMap { match in
        guard let left = match.output[1].substring.flatMap({ Double($0) }),
            let op = match.output[2].substring.map(String.init),
            let right = match.output[3].substring.flatMap({ Double($0) })
        else { return nil }
        return (left, op, right, String(summary[match.range]))
    }
}

/// Whether every inequality a summary states holds, allowing for the rounding of the printed figures.
func statesOnlyTrueInequalities(_ summary: String) -> Bool {
    statedInequalities(summary).allSatisfy { s in
        let slack = 0.01 * max(abs(s.left), abs(s.right)) + 1e-3
        switch s.op {
        case "≤", "<": return s.left <= s.right + slack
        default: return s.left >= s.right - slack
        }
    }
}
