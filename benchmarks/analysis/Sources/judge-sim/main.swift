// judge-sim: simulated canary traffic through Canarygate's sequential judge and a Flagger setup; a markdown table.

import Analysis
import Simulation

// Usage: judge-sim [--runs N] [--healthy-runs N] [--seed S]
//   --runs          rollouts per (rate, canary error rate) for detection (default 1000)
//   --healthy-runs  healthy 10-minute rollouts per rate for false rollbacks (default 10000)
//   --seed          base seed of the deterministic generator (default 20260101)
var runs = 1_000
var healthyRuns = 10_000
var seed: UInt64 = 20_260_101
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    guard let value = arguments.next() else { fatalError("\(argument) needs a value") }
    switch argument {
    case "--runs": runs = Int(value)!
    case "--healthy-runs": healthyRuns = Int(value)!
    case "--seed": seed = UInt64(value)!
    default: fatalError("unknown argument \(argument)")
    }
}

let tickSeconds = 0.1
let ticksPerSecond = 10
let horizonTicks = 6_000            // 10 minutes
let flaggerIntervalTicks = 600      // 1 minute
let weight = 0.1
let primaryFailureRate = 0.005
let rates: [Double] = [100, 1_000]
let canaryFailureRates: [Double] = [0.005, 0.01, 0.02, 0.05, 1]

/// The tick at which each detector rolled back (nil: not within the horizon), both fed the same ticks.
func simulate(rate: Double, canaryFailureRate: Double, rng: inout Xoshiro256) -> (canarygate: Int?, flagger: Int?) {
    var canarygate = CanarygateDetector(ticksPerSecond: ticksPerSecond)
    var flagger = FlaggerDetector(ticksPerInterval: flaggerIntervalTicks)
    var canarygateAt: Int?, flaggerAt: Int?
    for t in 1...horizonTicks {
        let nc = rng.poisson(rate * weight * tickSeconds)
        let np = rng.poisson(rate * (1 - weight) * tickSeconds)
        let tick = Tick(
            canaryRequests: nc, canaryFailures: rng.binomial(nc, canaryFailureRate),
            primaryRequests: np, primaryFailures: rng.binomial(np, primaryFailureRate))
        if canarygateAt == nil, canarygate.observe(tick) { canarygateAt = t }
        if flaggerAt == nil, flagger.observe(tick) { flaggerAt = t }
        if canarygateAt != nil && flaggerAt != nil { break }
    }
    return (canarygateAt, flaggerAt)
}

/// "1.2 s", or "> 600 s" when fewer runs than the quantile asks for detected within the horizon.
func quantileText(_ ticks: [Int?], _ q: Double) -> String {
    let sorted = ticks.map { $0 ?? Int.max }.sorted()
    let rank = max(1, Int((q * Double(sorted.count)).rounded(.up)))
    let value = sorted[rank - 1]
    if value == Int.max { return "> \(horizonTicks / ticksPerSecond) s" }
    let seconds = Double(value) * tickSeconds
    return seconds < 10 ? "\(Double(Int(seconds * 10 + 0.5)) / 10) s" : "\(Int(seconds.rounded())) s"
}

func percent(_ count: Int, of total: Int) -> String {
    let value = 100 * Double(count) / Double(total)
    return "\(Double(Int(value * 100 + 0.5)) / 100)%"
}

print("| req/s | canary failures (primary 0.5%) | judge | median time to detect | p90 time to detect | rolled back within 10 min | runs |")
print("|---:|---:|---|---:|---:|---:|---:|")
var scenario: UInt64 = 0
for rate in rates {
    for canaryRate in canaryFailureRates {
        scenario += 1
        var rng = Xoshiro256(seed: seed &+ scenario &* 0x9E37_79B9)
        let healthy = canaryRate == primaryFailureRate
        let n = healthy ? healthyRuns : runs
        var canarygate: [Int?] = [], flagger: [Int?] = []
        canarygate.reserveCapacity(n)
        flagger.reserveCapacity(n)
        for _ in 0..<n {
            let result = simulate(rate: rate, canaryFailureRate: canaryRate, rng: &rng)
            canarygate.append(result.canarygate)
            flagger.append(result.flagger)
        }
        let label = canaryRate == 1 ? "100% (dead)" : healthy ? "0.5% (healthy)" : "\(canaryRate * 100)%"
        for (name, ticks) in [("Canarygate sequential + dead-canary rule", canarygate), ("Flagger 1m × 5, success ≥ 99%", flagger)] {
            let detected = ticks.filter { $0 != nil }.count
            if healthy {
                print("| \(Int(rate)) | \(label) | \(name) | – | – | **false rollbacks \(percent(detected, of: n))** (\(detected)) | \(n) |")
            } else {
                print("| \(Int(rate)) | \(label) | \(name) | \(quantileText(ticks, 0.5)) | \(quantileText(ticks, 0.9)) | \(percent(detected, of: n)) | \(n) |")
            }
        }
    }
}
