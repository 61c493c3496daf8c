// The two rollback rules under comparison, fed the same simulated ticks: Canarygate's and Flagger's.

import Analysis

/// One tick's counts of both arms.
struct Tick {
    var canaryRequests: UInt64
    var canaryFailures: UInt64
    var primaryRequests: UInt64
    var primaryFailures: UInt64
}

/// A rollback rule fed tick by tick; `observe` returns true once it has decided to roll back.
protocol Detector {
    mutating func observe(_ tick: Tick) -> Bool
}

/// Canarygate between intervals: the sequential judge on failures (α = 0.01) and the dead-canary
/// rule on a rolling one-second window.
struct CanarygateDetector: Detector {
    var judge = SequentialJudge(alpha: 0.01)
    let rule = DeadCanaryRule()
    private var recent: [(UInt64, UInt64)]
    private var slot = 0
    private var windowRequests: UInt64 = 0
    private var windowFailures: UInt64 = 0

    init(ticksPerSecond: Int) {
        recent = [(UInt64, UInt64)](repeating: (0, 0), count: ticksPerSecond)
    }

    mutating func observe(_ t: Tick) -> Bool {
        if judge.update(canaryRequests: t.canaryRequests, canaryBad: t.canaryFailures,
                        primaryRequests: t.primaryRequests, primaryBad: t.primaryFailures) { return true }
        windowRequests = windowRequests - recent[slot].0 + t.canaryRequests
        windowFailures = windowFailures - recent[slot].1 + t.canaryFailures
        recent[slot] = (t.canaryRequests, t.canaryFailures)
        slot = (slot + 1) % recent.count
        return rule.isDead(canaryRequests: windowRequests, canaryFailures: windowFailures)
    }
}

/// Flagger's analysis as configured in the comparison: `interval: 1m`, `threshold: 5`,
/// `request-success-rate` `thresholdRange.min: 99`, `minRequests: 10` (the rule of Canarygate's
/// Flagger-compatible ThresholdJudge, written out here so that only `Analysis` is imported). An interval with ≥ 10 canary requests and a success rate below
/// 99 % is a failed check; failed checks accumulate (Flagger does not reset them while the rollout
/// progresses) and the 5th rolls back, at the end of its interval.
struct FlaggerDetector: Detector {
    let ticksPerInterval: Int
    let threshold = 5
    let minSuccessRatePercent = 99.0
    let minRequests: UInt64 = 10
    private var tickInInterval = 0
    private var requests: UInt64 = 0
    private var failures: UInt64 = 0
    private var failedChecks = 0

    init(ticksPerInterval: Int) { self.ticksPerInterval = ticksPerInterval }

    mutating func observe(_ t: Tick) -> Bool {
        requests += t.canaryRequests
        failures += t.canaryFailures
        tickInInterval += 1
        guard tickInInterval == ticksPerInterval else { return false }
        if requests >= minRequests, 100 * Double(requests - failures) / Double(requests) < minSuccessRatePercent {
            failedChecks += 1
        }
        tickInInterval = 0
        requests = 0
        failures = 0
        return failedChecks >= threshold
    }
}
