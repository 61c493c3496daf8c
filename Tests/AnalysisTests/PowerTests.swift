// Power: a worse canary is caught, fast; a dead canary within one second, at any weight.

import Testing
import Config
@testable import Analysis
import Simulation

@Suite struct PowerTests {
    /// Runs `runs` rollouts of at most `ticks` ticks; the ticks at which each failed (nil: never).
    static func detections(_ traffic: SimulatedTraffic, runs: Int, ticks: Int, seed: UInt64) -> [Int?] {
        var rng = Xoshiro256(seed: seed)
        return (0..<runs).map { _ in traffic.firstFailure(ticks: ticks, alpha: 0.01, deadCanaryGuard: true, rng: &rng) }
    }

    /// Canary failing 5 % vs the primary's 0.5 % at 1,000 req/s, 10 % weight: caught within 60 s of
    /// traffic in ≥ 95 % of 200 runs (the bar is < 10 s for this case; see benchmarks/analysis).
    @Test func tenfoldErrorRateCaughtWithinAMinute() {
        let traffic = SimulatedTraffic(requestsPerSecond: 1_000, canaryWeight: 0.1, canaryFailureRate: 0.05, primaryFailureRate: 0.005)
        let results = Self.detections(traffic, runs: 200, ticks: 600, seed: 0x90E4_0001)
        #expect(results.filter { $0 != nil }.count >= 190)
        let within10s = results.filter { ($0 ?? .max) <= 100 }.count
        #expect(within10s >= 180, "\(within10s) of 200 caught within 10 s")
    }

    /// A genuine 2× error rate: 1 % vs 0.5 % at 1,000 req/s, 10 % weight. Caught in ≥ 95 % of 200
    /// runs within 5 minutes.
    @Test func doubledErrorRateCaught() {
        let traffic = SimulatedTraffic(requestsPerSecond: 1_000, canaryWeight: 0.1, canaryFailureRate: 0.01, primaryFailureRate: 0.005)
        let results = Self.detections(traffic, runs: 200, ticks: 3_000, seed: 0x90E4_0002)
        let caught = results.filter { $0 != nil }.count
        #expect(caught >= 190, "\(caught) of 200 caught within 300 s")
    }

    /// A dead canary (every request fails) with a healthy primary, at 10 % and at 1 % weight of
    /// 1,000 req/s: failed within one second (10 ticks) in every one of 200 runs.
    @Test func deadCanaryCaughtWithinOneSecond() {
        for weight in [0.1, 0.01] {
            let traffic = SimulatedTraffic(requestsPerSecond: 1_000, canaryWeight: weight, canaryFailureRate: 1, primaryFailureRate: 0.005)
            let results = Self.detections(traffic, runs: 200, ticks: 10, seed: 0x90E4_0003)
            #expect(results.allSatisfy { $0 != nil }, "weight \(weight)")
        }
    }

    /// A dead canary at weight 100: the primary has no requests, every tick is skipped by the
    /// martingale, and the dead-canary rule decides within one second.
    @Test func deadCanaryAtFullWeightCaughtByTheRule() {
        let traffic = SimulatedTraffic(requestsPerSecond: 100, canaryWeight: 1, canaryFailureRate: 1, primaryFailureRate: 0.005)
        var rng = Xoshiro256(seed: 0x90E4_0004)
        for _ in 0..<200 {
            #expect(traffic.firstFailure(ticks: 10, alpha: 0.01, deadCanaryGuard: true, rng: &rng) != nil)
        }
        var judge = SequentialJudge(alpha: 0.01)
        #expect(judge.observe(canaryRequests: 10, canaryBad: 10, primaryRequests: 0, primaryBad: 0).outcome == .pass)
    }

    /// The comparison judge's error test on one 60 s interval at 1,000 req/s, 10 % weight, with its
    /// defaults (α = 0.05, +0.5 points allowed): a 2 % canary vs a 0.5 % primary fails in ≥ 95 % of 200 intervals.
    @Test func comparisonCatchesTwoPercentInOneInterval() {
        var rng = Xoshiro256(seed: 0x90E4_0005)
        var caught = 0
        for _ in 0..<200 {
            let nc = rng.poisson(6_000), np = rng.poisson(54_000)
            let verdict = ComparisonJudge.errors(
                canary: ArmWindow(n: nc, failures: rng.binomial(nc, 0.02)),
                primary: ArmWindow(n: np, failures: rng.binomial(np, 0.005)), config: ComparisonConfig(), minRequests: 10)
            if verdict.outcome == .fail { caught += 1 }
        }
        #expect(caught >= 190)
    }
}
