// Simulated canary rollouts for the calibration and power tests: Poisson traffic per tick, binomial failures.

@testable import Analysis
import Simulation

/// Traffic of one rollout: a total rate split by the canary weight, each arm failing independently.
struct SimulatedTraffic {
    var requestsPerSecond: Double
    var canaryWeight: Double
    var canaryFailureRate: Double
    var primaryFailureRate: Double
    var tickSeconds = 0.1

    /// One tick's counts: (canary requests, canary failures, primary requests, primary failures);
    /// each arm's requests are Poisson (the split of Poisson traffic), its failures binomial.
    func tick(_ rng: inout Xoshiro256) -> (nc: UInt64, kc: UInt64, np: UInt64, kp: UInt64) {
        let nc = rng.poisson(requestsPerSecond * canaryWeight * tickSeconds)
        let np = rng.poisson(requestsPerSecond * (1 - canaryWeight) * tickSeconds)
        return (nc, rng.binomial(nc, canaryFailureRate), np, rng.binomial(np, primaryFailureRate))
    }

    /// Runs the sequential judge (and, if asked, the dead-canary rule on a rolling one-second window)
    /// for at most `ticks` ticks; returns the 1-based tick at which either failed, nil if none did.
    func firstFailure(ticks: Int, alpha: Double, deadCanaryGuard: Bool, rng: inout Xoshiro256) -> Int? {
        var judge = SequentialJudge(alpha: alpha)
        let rule = DeadCanaryRule()
        let window = max(1, Int((1 / tickSeconds).rounded()))
        var recent = [(UInt64, UInt64)](repeating: (0, 0), count: window)
        var windowRequests: UInt64 = 0, windowFailures: UInt64 = 0
        for t in 1...ticks {
            let c = tick(&rng)
            if judge.update(canaryRequests: c.nc, canaryBad: c.kc, primaryRequests: c.np, primaryBad: c.kp) { return t }
            if deadCanaryGuard {
                let slot = t % window
                windowRequests = windowRequests - recent[slot].0 + c.nc
                windowFailures = windowFailures - recent[slot].1 + c.kc
                recent[slot] = (c.nc, c.kc)
                if rule.isDead(canaryRequests: windowRequests, canaryFailures: windowFailures) { return t }
            }
        }
        return nil
    }
}
