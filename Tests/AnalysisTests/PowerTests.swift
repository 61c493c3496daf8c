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

    /// Canary failing 5 % vs the primary's 0.5 % at 1,000 req/s, 10 % weight: caught in every one of
    /// 200 runs within 60 s, and in ≥ 95 % within 10 s.
    @Test func tenfoldErrorRateCaughtWithinSeconds() {
        let traffic = SimulatedTraffic(requestsPerSecond: 1_000, canaryWeight: 0.1, canaryFailureRate: 0.05, primaryFailureRate: 0.005)
        let results = Self.detections(traffic, runs: 200, ticks: 600, seed: 0x90E4_0001)
        #expect(results.allSatisfy { $0 != nil })
        let within10s = results.filter { ($0 ?? .max) <= 100 }.count
        print(
            "measured: 5 % vs 0.5 %: \(within10s) of 200 caught within 10 s, median tick \(results.compactMap { $0 }.sorted()[results.count / 2])"
        )
        #expect(within10s >= 190, "\(within10s) of 200 caught within 10 s")
    }

    /// The same canary with its failures in clusters of 3–5: clusters count once, yet it is caught.
    @Test func tenfoldErrorRateInClustersCaught() {
        var traffic = SimulatedTraffic(requestsPerSecond: 1_000, canaryWeight: 0.1, canaryFailureRate: 0.05, primaryFailureRate: 0.005)
        traffic.clusterSizes = 3...5
        let results = Self.detections(traffic, runs: 200, ticks: 600, seed: 0x90E4_0006)
        let caught = results.filter { $0 != nil }.count
        print("measured: 5 % vs 0.5 % in clusters: \(caught) of 200 caught within 60 s")
        #expect(caught >= 190, "\(caught) of 200 caught within 60 s")
    }

    /// A genuine 2× error rate: 1 % vs 0.5 % at 1,000 req/s, 10 % weight, caught within 5 minutes.
    @Test func doubledErrorRateCaught() {
        let traffic = SimulatedTraffic(requestsPerSecond: 1_000, canaryWeight: 0.1, canaryFailureRate: 0.01, primaryFailureRate: 0.005)
        let results = Self.detections(traffic, runs: 200, ticks: 3_000, seed: 0x90E4_0002)
        let caught = results.filter { $0 != nil }.count
        print("measured: 1 % vs 0.5 %: \(caught) of 200 caught within 300 s")
        #expect(caught >= 190, "\(caught) of 200 caught within 300 s")
    }

    /// A dead canary (every request fails) with a healthy primary at 1,000 req/s. At 10 % weight it is
    /// failed within one second (10 ticks) in every one of 200 runs. At 1 % weight the canary has 10
    /// requests a second: the dead-canary rule needs 5 in the last second (Poisson(10) < 5 in 2.9 % of
    /// seconds) and the sequential judge counts episodes, not requests, so the bar is ≥ 195 of 200
    /// within one second and every one within two (the per-event judge before 4d5e9d6 caught all 200
    /// within one second).
    @Test func deadCanaryCaughtWithinOneSecond() {
        let fast = SimulatedTraffic(requestsPerSecond: 1_000, canaryWeight: 0.1, canaryFailureRate: 1, primaryFailureRate: 0.005)
        let atTen = Self.detections(fast, runs: 200, ticks: 10, seed: 0x90E4_0003).filter { $0 != nil }.count
        #expect(atTen == 200, "weight 10 %: \(atTen) of 200 within 1 s")
        let slow = SimulatedTraffic(requestsPerSecond: 1_000, canaryWeight: 0.01, canaryFailureRate: 1, primaryFailureRate: 0.005)
        let results = Self.detections(slow, runs: 200, ticks: 20, seed: 0x90E4_0003)
        let withinOne = results.filter { ($0 ?? .max) <= 10 }.count, withinTwo = results.filter { $0 != nil }.count
        print("measured: dead canary at weight 1 %: \(withinOne) of 200 caught within 1 s, \(withinTwo) within 2 s")
        #expect(withinOne >= 195, "weight 1 %: \(withinOne) of 200 within 1 s")
        #expect(withinTwo == 200, "weight 1 %: \(withinTwo) of 200 within 2 s")
    }

    /// A dead canary at weight 100: the primary has no requests, the sequential judge has nothing to
    /// compare, and the dead-canary rule decides within one second.
    @Test func deadCanaryAtFullWeightCaughtByTheRule() {
        let traffic = SimulatedTraffic(requestsPerSecond: 100, canaryWeight: 1, canaryFailureRate: 1, primaryFailureRate: 0.005)
        var rng = Xoshiro256(seed: 0x90E4_0004)
        for _ in 0..<200 {
            #expect(traffic.firstFailure(ticks: 10, alpha: 0.01, deadCanaryGuard: true, rng: &rng) != nil)
        }
        var judge = SequentialJudge(alpha: 0.01)
        for _ in 0..<100 {
            #expect(judge.observe(canary: OutcomeCounts(responses: 10, serverErrors: 10), primary: OutcomeCounts()).outcome == .pass)
        }
    }

    /// The comparison's error test on one 60 s interval at 1,000 req/s, 10 % weight, at the first
    /// interval's α (0.005) and +0.5 points allowed: a 2 % canary vs a 0.5 % primary fails in ≥ 95 % of 200 intervals.
    @Test func comparisonCatchesTwoPercentInOneInterval() {
        var rng = Xoshiro256(seed: 0x90E4_0005)
        var caught = 0
        for _ in 0..<200 {
            let nc = rng.poisson(6_000), np = rng.poisson(54_000)
            let verdict = ComparisonJudge.errors(
                canary: ArmWindow(n: nc, failures: rng.binomial(nc, 0.02)),
                primary: ArmWindow(n: np, failures: rng.binomial(np, 0.005)), config: ComparisonConfig(), minRequests: 10,
                alpha: ComparisonJudge.spentAlpha(0.01, interval: 1))
            if verdict.outcome == .fail { caught += 1 }
        }
        #expect(caught >= 190)
    }
}
