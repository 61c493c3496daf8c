// Calibration: simulated healthy rollouts (same failure rate on both arms) must falsely fail at most at α.

import Testing
import Config
import Telemetry
@testable import Analysis
import Simulation

/// The false-rollback rate of each judge on healthy canaries, against the binomial bound
/// α + 3·sqrt(α(1 − α)/runs): if the true rate were α, the observed one would exceed the bound with
/// probability ≈ 0.1 %. The simulations are seeded, so the test is deterministic.
@Suite struct CalibrationTests {
    static func bound(alpha: Double, runs: Int) -> Double {
        alpha + 3 * (alpha * (1 - alpha) / Double(runs)).squareRoot()
    }

    /// 1,000 healthy rollouts of 300 ticks (30 s at 100 ms) at 1,000 req/s, 10 % canary weight,
    /// 0.5 % failures on both arms, through the sequential judge at α = 0.01 with the dead-canary
    /// guard: false rollbacks ≤ α + 3σ.
    @Test func sequentialJudgeFalseRollbacks() {
        let runs = 1_000, alpha = 0.01
        let traffic = SimulatedTraffic(requestsPerSecond: 1_000, canaryWeight: 0.1, canaryFailureRate: 0.005, primaryFailureRate: 0.005)
        var rng = Xoshiro256(seed: 0xCA1B_0001)
        var falseRollbacks = 0
        for _ in 0..<runs where traffic.firstFailure(ticks: 300, alpha: alpha, deadCanaryGuard: true, rng: &rng) != nil {
            falseRollbacks += 1
        }
        let rate = Double(falseRollbacks) / Double(runs)
        #expect(rate <= Self.bound(alpha: alpha, runs: runs), "false-rollback rate \(rate)")
    }

    /// The same at 100 req/s, 3,000 ticks (5 minutes): fewer events per tick, longer rollouts.
    @Test func sequentialJudgeFalseRollbacksAtLowTraffic() {
        let runs = 1_000, alpha = 0.01
        let traffic = SimulatedTraffic(requestsPerSecond: 100, canaryWeight: 0.1, canaryFailureRate: 0.005, primaryFailureRate: 0.005)
        var rng = Xoshiro256(seed: 0xCA1B_0002)
        var falseRollbacks = 0
        for _ in 0..<runs where traffic.firstFailure(ticks: 3_000, alpha: alpha, deadCanaryGuard: true, rng: &rng) != nil {
            falseRollbacks += 1
        }
        let rate = Double(falseRollbacks) / Double(runs)
        #expect(rate <= Self.bound(alpha: alpha, runs: runs), "false-rollback rate \(rate)")
    }

    /// The comparison judge's error test per interval, at its α = 0.05, with the effect allowance
    /// set to 0 so that the z-test alone decides: 2,000 healthy 60 s intervals at 1,000 req/s, 10 %
    /// weight, 0.5 % failures on both arms.
    @Test func comparisonErrorTestFalseFailures() {
        var config = ComparisonConfig()
        config.allowedErrorRateIncrease = 0
        let runs = 2_000
        var rng = Xoshiro256(seed: 0xCA1B_0003)
        var failures = 0, failuresWithDefaultAllowance = 0
        for _ in 0..<runs {
            let nc = rng.poisson(6_000), np = rng.poisson(54_000)
            let canary = ArmWindow(n: nc, failures: rng.binomial(nc, 0.005))
            let primary = ArmWindow(n: np, failures: rng.binomial(np, 0.005))
            if ComparisonJudge.errors(canary: canary, primary: primary, config: config, minRequests: 10).outcome == .fail { failures += 1 }
            if ComparisonJudge.errors(canary: canary, primary: primary, config: ComparisonConfig(), minRequests: 10).outcome == .fail {
                failuresWithDefaultAllowance += 1
            }
        }
        let rate = Double(failures) / Double(runs)
        #expect(rate <= Self.bound(alpha: config.alpha, runs: runs), "false-failure rate \(rate)")
        #expect(failuresWithDefaultAllowance <= failures)
    }

    /// The comparison judge's latency test per interval, at α = 0.05, allowances off (CLES > 0.5 or
    /// any p99 ratio counts as beyond them): 1,000 healthy 60 s intervals at 100 req/s, 10 % weight,
    /// both arms drawing from the same discrete latency distribution (heavy ties: 12 values).
    @Test func comparisonLatencyTestFalseFailures() {
        var config = ComparisonConfig()
        config.allowedSlowdown = 0.5
        config.maxLatencyRatio = 0
        let latencies: [Double] = [2, 3, 4, 5, 7, 10, 15, 20, 30, 50, 100, 400]
        let probabilities = [0.05, 0.15, 0.2, 0.18, 0.14, 0.1, 0.07, 0.05, 0.03, 0.02, 0.008, 0.002]
        func sample(_ n: UInt64, _ rng: inout Xoshiro256) -> HistogramSnapshot {
            // Multinomial as successive conditional binomials.
            var counts: [UInt64] = [], remaining = n, mass = 1.0
            for p in probabilities {
                let k = mass > 0 ? rng.binomial(remaining, min(1, p / mass)) : 0
                counts.append(k)
                remaining -= k
                mass -= p
            }
            return histogram(milliseconds: latencies, counts: counts)
        }
        let runs = 1_000
        var rng = Xoshiro256(seed: 0xCA1B_0004)
        var failures = 0
        for _ in 0..<runs {
            let canary = sample(rng.poisson(600), &rng), primary = sample(rng.poisson(5_400), &rng)
            if ComparisonJudge.latency(canary: canary, primary: primary, config: config, minRequests: 10).outcome == .fail { failures += 1 }
        }
        let rate = Double(failures) / Double(runs)
        #expect(rate <= Self.bound(alpha: config.alpha, runs: runs), "false-failure rate \(rate)")
    }
}
