// judge-sim: whole rollouts on a virtual clock through the real judges and rollout machine, under the nulls real traffic produces and under regressions; a markdown table.

import Analysis
import Config
import Simulation

// Usage: judge-sim [--runs N] [--seed S] [--only NAME]
//   --runs   rollouts per scenario (default 1000; latency scenarios run a fifth of them: histograms are costly)
//   --seed   base seed of the deterministic generator (default 20261206)
//   --only   run the scenarios whose name contains NAME
var runs = 1_000
var seed: UInt64 = 20_261_206
var only: String?
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    guard let value = arguments.next() else { fatalError("\(argument) needs a value") }
    switch argument {
    case "--runs": runs = Int(value)!
    case "--seed": seed = UInt64(value)!
    case "--only": only = value
    default: fatalError("unknown argument \(argument)")
    }
}

/// The analysis every scenario runs: Flagger's usual steps (10 % up to 50 %, threshold 5) at a 30 s
/// interval, every judge at its default (the evidence margin 1 point).
func standardAnalysis(_ change: (inout AnalysisConfig) -> Void = { _ in }) -> AnalysisConfig {
    var a = AnalysisConfig()
    a.interval = .seconds(30)
    a.stepWeight = 10
    a.maxWeight = 50
    a.threshold = 5
    a.progressDeadline = .seconds(600)
    change(&a)
    return a
}

struct Scenario {
    var name: String
    /// A null: the canary is as good as the primary, so any rollback is false.
    var null: Bool
    var traffic: Traffic
    var analysis = standardAnalysis()
    var horizonSeconds = 1_800.0
    var restartEverySeconds: Double?
    var pause: (at: Double, for: Double)?
}

let healthy = ArmBehaviour(serverErrors: 0.005)
let scenarios: [Scenario] = [
    Scenario(name: "null: independent 5xx, 0.5% on both arms, 1,000 req/s", null: true,
             traffic: Traffic(requestsPerSecond: 1_000, primary: healthy, canary: healthy)),
    Scenario(name: "null: 5xx in clusters of 3-5 within a tick, 0.5% on both arms", null: true,
             traffic: Traffic(requestsPerSecond: 1_000, primary: healthy, canary: healthy, clustered: true)),
    Scenario(name: "null: outages of 0.5-2 s (one a minute, same rate per request on both arms)", null: true,
             traffic: Traffic(requestsPerSecond: 1_000, primary: healthy, canary: healthy, outagesPerSecond: 1.0 / 60)),
    Scenario(name: "null: bursts per arm every 3 s (0.3 s, all failing), in phase", null: true,
             traffic: Traffic(requestsPerSecond: 1_000, primary: ArmBehaviour(), canary: ArmBehaviour(), periodicBursts: (3, 0.3, 0))),
    Scenario(name: "null: bursts per arm every 3 s (0.3 s, all failing), out of phase", null: true,
             traffic: Traffic(requestsPerSecond: 1_000, primary: ArmBehaviour(), canary: ArmBehaviour(), periodicBursts: (3, 0.3, 1.5))),
    Scenario(name: "null: a path that always answers 404 (5% of requests) on both arms", null: true,
             traffic: Traffic(requestsPerSecond: 1_000, primary: ArmBehaviour(serverErrors: 0.005, clientErrors: 0.05),
                              canary: ArmBehaviour(serverErrors: 0.005, clientErrors: 0.05))),
    Scenario(name: "null: latency that depends on load, maxWeight 60", null: true,
             traffic: Traffic(requestsPerSecond: 300, primary: ArmBehaviour(serverErrors: 0.005, loadSensitivity: 0.5),
                              canary: ArmBehaviour(serverErrors: 0.005, loadSensitivity: 0.5), latency: true),
             analysis: standardAnalysis { $0.maxWeight = 60 }),
    Scenario(name: "null: restarted every 45 s (evidence through the state file)", null: true,
             traffic: Traffic(requestsPerSecond: 1_000, primary: healthy, canary: healthy), restartEverySeconds: 45),
    Scenario(name: "null: paused for 2 minutes mid-rollout (at 45 s), then resumed", null: true,
             traffic: Traffic(requestsPerSecond: 1_000, primary: healthy, canary: healthy), pause: (45, 120)),
    Scenario(name: "null: independent 5xx, 0.5%, 1,000 req/s, pace: evidence (minDwell 10 s)", null: true,
             traffic: Traffic(requestsPerSecond: 1_000, primary: healthy, canary: healthy),
             analysis: standardAnalysis { $0.pace = .evidence }),
    Scenario(name: "null: independent 5xx, 0.5%, 10,000 req/s, pace: interval", null: true,
             traffic: Traffic(requestsPerSecond: 10_000, primary: healthy, canary: healthy)),
    Scenario(name: "null: independent 5xx, 0.5%, 10,000 req/s, pace: evidence (minDwell 10 s)", null: true,
             traffic: Traffic(requestsPerSecond: 10_000, primary: healthy, canary: healthy),
             analysis: standardAnalysis { $0.pace = .evidence }),
    Scenario(name: "null: independent 5xx, 0.5%, 100 req/s, pace: evidence (minDwell 10 s)", null: true,
             traffic: Traffic(requestsPerSecond: 100, primary: healthy, canary: healthy),
             analysis: standardAnalysis { $0.pace = .evidence }),
    Scenario(name: "null: independent 5xx, 0.5%, 100 req/s", null: true,
             traffic: Traffic(requestsPerSecond: 100, primary: healthy, canary: healthy)),
    Scenario(name: "null: independent 5xx, 0.5%, 1,000 req/s, margin 0.5 points", null: true,
             traffic: Traffic(requestsPerSecond: 1_000, primary: healthy, canary: healthy),
             analysis: standardAnalysis { $0.comparison.allowedErrorRateIncrease = 0.5 }),
    Scenario(name: "null: low traffic, 2 req/s", null: true,
             traffic: Traffic(requestsPerSecond: 2, primary: healthy, canary: healthy)),
    Scenario(name: "5xx 5% vs 0.5%, 1,000 req/s", null: false,
             traffic: Traffic(requestsPerSecond: 1_000, primary: healthy, canary: ArmBehaviour(serverErrors: 0.05))),
    Scenario(name: "5xx 5% vs 0.5%, 1,000 req/s, pace: evidence", null: false,
             traffic: Traffic(requestsPerSecond: 1_000, primary: healthy, canary: ArmBehaviour(serverErrors: 0.05)),
             analysis: standardAnalysis { $0.pace = .evidence }),
    Scenario(name: "5xx 2% vs 0.5%, 1,000 req/s", null: false,
             traffic: Traffic(requestsPerSecond: 1_000, primary: healthy, canary: ArmBehaviour(serverErrors: 0.02))),
    Scenario(name: "5xx 2% vs 0.5%, 100 req/s", null: false,
             traffic: Traffic(requestsPerSecond: 100, primary: healthy, canary: ArmBehaviour(serverErrors: 0.02))),
    Scenario(name: "5xx 5% vs 0.5%, 2 req/s", null: false,
             traffic: Traffic(requestsPerSecond: 2, primary: healthy, canary: ArmBehaviour(serverErrors: 0.05))),
    Scenario(name: "404 on 20% of canary requests", null: false,
             traffic: Traffic(requestsPerSecond: 1_000, primary: healthy, canary: ArmBehaviour(serverErrors: 0.005, clientErrors: 0.2))),
    Scenario(name: "canary hangs 10% (clients abort)", null: false,
             traffic: Traffic(requestsPerSecond: 1_000, primary: healthy, canary: ArmBehaviour(serverErrors: 0.005, aborts: 0.1))),
    Scenario(name: "a broken path: 5% of canary requests fail", null: false,
             traffic: Traffic(requestsPerSecond: 200, primary: ArmBehaviour(), canary: ArmBehaviour(serverErrors: 0.05))),
    Scenario(name: "tail only: 3% of canary requests +300 ms", null: false,
             traffic: Traffic(requestsPerSecond: 300, primary: healthy, canary: ArmBehaviour(serverErrors: 0.005, tailShare: 0.03, tailExtraMs: 300), latency: true)),
    Scenario(name: "median shift +20 ms (20 ms service)", null: false,
             traffic: Traffic(requestsPerSecond: 300, primary: healthy, canary: ArmBehaviour(serverErrors: 0.005, shiftMs: 20), latency: true)),
]

func percent(_ count: Int, of total: Int) -> String {
    let value = 100 * Double(count) / Double(total)
    return "\(Double(Int(value * 100 + 0.5)) / 100)%"
}

/// "1.2 s" of the q-quantile of `values` (nil: did not happen within the horizon).
func quantileText(_ values: [Double?], _ q: Double) -> String {
    let sorted = values.map { $0 ?? .infinity }.sorted()
    guard !sorted.isEmpty else { return "–" }
    let value = sorted[max(0, Int((q * Double(sorted.count)).rounded(.up)) - 1)]
    if value == .infinity { return "never" }
    return value < 10 ? "\(Double(Int(value * 10 + 0.5)) / 10) s" : "\(Int(value.rounded())) s"
}

print("| scenario | runs | rolled back by a judge | held until progressDeadline | promoted | unfinished (30 min) | time to rollback median / p90 | time to promote median / p90 | judges that rolled back |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
for (index, scenario) in scenarios.enumerated() where only.map({ scenario.name.contains($0) }) ?? true {
    var rng = Xoshiro256(seed: seed &+ UInt64(index + 1) &* 0x9E37_79B9)
    let n = scenario.traffic.latency ? max(1, runs / 5) : runs
    let rollout = SimulatedRollout(analysis: scenario.analysis, horizonSeconds: scenario.horizonSeconds,
                                   restartEverySeconds: scenario.restartEverySeconds, pause: scenario.pause)
    var rolledBack = 0, deadline = 0, promoted = 0, unfinished = 0
    var rollbackTimes: [Double?] = [], promotionTimes: [Double?] = []
    var judges: [String: Int] = [:]
    for _ in 0..<n {
        switch rollout.run(scenario.traffic, rng: &rng) {
        case .rolledBack(let seconds, let judge):
            rolledBack += 1
            rollbackTimes.append(seconds)
            promotionTimes.append(nil)
            judges[judge, default: 0] += 1
        case .deadline: deadline += 1; rollbackTimes.append(nil); promotionTimes.append(nil)
        case .promoted(let seconds): promoted += 1; rollbackTimes.append(nil); promotionTimes.append(seconds)
        case .unfinished: unfinished += 1; rollbackTimes.append(nil); promotionTimes.append(nil)
        }
    }
    let judgeText = judges.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
    let times = scenario.null ? "–" : "\(quantileText(rollbackTimes, 0.5)) / \(quantileText(rollbackTimes, 0.9))"
    let promotion = promoted == 0 ? "–" : "\(quantileText(promotionTimes, 0.5)) / \(quantileText(promotionTimes, 0.9))"
    let rolled = scenario.null ? "**\(percent(rolledBack, of: n))** (\(rolledBack))" : "\(percent(rolledBack, of: n))"
    print("| \(scenario.name) | \(n) | \(rolled) | \(percent(deadline, of: n)) | \(scenario.null ? "" : "**")\(percent(promoted, of: n))\(scenario.null ? "" : "**") | \(percent(unfinished, of: n)) | \(times) | \(promotion) | \(judgeText) |")
}
