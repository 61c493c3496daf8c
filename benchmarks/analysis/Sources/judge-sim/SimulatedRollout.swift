// One whole rollout on a virtual clock: the real rollout machine and the real judges, fed simulated traffic.

import Analysis
import Foundation
import Config
import Rollout
import Simulation

/// How a simulated rollout ended.
enum RolloutEnd {
    /// Rolled back by a judge (a failed check threshold, the sequential judge, the dead-canary guard), at this time in seconds.
    case rolledBack(seconds: Double, judge: String)
    /// Ended by progressDeadline: held for lack of evidence until it gave up (fails safe).
    case deadline(seconds: Double)
    case promoted(seconds: Double)
    /// Still progressing at the horizon.
    case unfinished
}

struct SimulatedRollout {
    var analysis: AnalysisConfig
    var horizonSeconds: Double
    /// Restart the proxy (the judges' evidence through JSON, as the state file carries it) this often; nil: never.
    var restartEverySeconds: Double?
    /// An operator pauses the rollout at `at` seconds and resumes it `for` seconds later; nil: never.
    var pause: (at: Double, for: Double)?

    func run(_ traffic: Traffic, rng: inout Xoshiro256) -> RolloutEnd {
        var machine = RolloutMachine(route: "web", restored: nil)
        var judges = RolloutJudges(analysis: analysis, revision: "v2")
        var run = TrafficRun(traffic)
        var weight = 0
        var now: UInt64 = 1_000_000_000
        var interval: (canary: ArmWindow, primary: ArmWindow) = (ArmWindow(n: 0, failures: 0, histogram: TrafficRun.emptyHistogram),
                                                                ArmWindow(n: 0, failures: 0, histogram: TrafficRun.emptyHistogram))
        var end: RolloutEnd?

        func deliver(_ event: RolloutEvent) {
            var queue = [event]
            while !queue.isEmpty {
                let before = machine.state.phase
                let actions = machine.handle(queue.removeFirst(), now: now)
                let after = machine.state.phase
                if after != before && after == .initializing { judges.beginRollout(revision: machine.state.canaryRevision) }
                for action in actions {
                    switch action {
                    case .setWeight(let w): weight = w
                    case .runHooks(let type): queue.append(.hooksCompleted(type, passed: true, detail: "simulated"))
                    case .probeCanaryReadiness: queue.append(.canaryReady(true))
                    case .startAnalysisWindow: interval = (.init(n: 0, failures: 0, histogram: TrafficRun.emptyHistogram), .init(n: 0, failures: 0, histogram: TrafficRun.emptyHistogram))
                    case .analyseInterval:
                        queue.append(.intervalVerdicts(judges.analyseInterval(canary: interval.canary, primary: interval.primary)))
                        interval = (.init(n: 0, failures: 0, histogram: TrafficRun.emptyHistogram), .init(n: 0, failures: 0, histogram: TrafficRun.emptyHistogram))
                    case .probePrimary: queue.append(.primaryReady(revision: nil))
                    // No rollbackWindow or watch in the simulation: a rollout ends at its promotion.
                    case .drainCanary, .persist, .emit, .overridePrimary, .startWatchWindow, .analyseWatchInterval: break
                    }
                }
                if end == nil, after != before {
                    let seconds = Double(now - 1_000_000_000) / 1e9
                    switch after {
                    case .failed:
                        let message = machine.state.message
                        end = message.contains("progressDeadline") ? .deadline(seconds: seconds)
                            : .rolledBack(seconds: seconds, judge: machine.state.lastVerdicts.first { $0.outcome == "fail" }?.judge ?? message)
                    case .promoted, .promoting, .succeeded: end = .promoted(seconds: seconds)
                    default: break
                    }
                }
            }
        }

        deliver(.configured(primaryRevision: "v1", canaryRevision: nil, analysis: analysis))
        deliver(.configured(primaryRevision: "v1", canaryRevision: "v2", analysis: analysis))
        let ticks = Int(horizonSeconds * 10)
        let restartTicks = restartEverySeconds.map { Int($0 * 10) }
        for t in 1...ticks {
            now += 100_000_000
            let windows = run.tick(weight: weight, rng: &rng)
            interval = (interval.canary.adding(windows.canary), interval.primary.adding(windows.primary))
            let judging = weight > 0 && [.progressing, .waitingPromotion].contains(machine.state.phase)
            if judging, let failure = judges.observeTick(canary: windows.canary, primary: windows.primary, weight: weight, now: now) {
                deliver(.immediateFailure(failure))
            } else if judging, machine.state.phase == .progressing, judges.evidenceAllowsAdvance(now: now) {
                deliver(.evidenceSufficient)
            }
            deliver(.tick(now: now))
            if let end { return end }
            if let pause, t == Int(pause.at * 10) { deliver(.command(.pause)) }
            if let pause, t == Int((pause.at + pause.for) * 10) { deliver(.command(.resume)) }
            if let every = restartTicks, t % every == 0 {
                // A restart: the evidence goes through the state file's JSON and comes back.
                let data = try! JSONEncoder().encode(judges.evidence)
                judges = RolloutJudges(analysis: analysis, revision: "v2", restored: try! JSONDecoder().decode(RolloutJudges.Evidence.self, from: data))
            }
        }
        return .unfinished
    }
}
