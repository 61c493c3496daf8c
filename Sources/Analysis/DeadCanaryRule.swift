// The deterministic dead-canary guard: every canary request of the last second failed.

import Config

/// A deterministic guard beside the sequential judge, for the promise that a canary whose every
/// request fails, or that is unreachable, is rolled back within one second at any weight.
///
/// With a healthy primary taking traffic the `SequentialJudge` does this by itself in a tick or
/// two (each canary failure multiplies M by up to θ/(1 − q + qθ)). But it only compares the arms:
/// a tick where the primary had no requests (weight 100, or a tiny total rate) is skipped, and a
/// primary that fails as much as the canary gives it no evidence. So: **fail when the canary had
/// at least `minRequests` (default 5) responses in the last second and every one of them failed**
/// (5xx; an unreachable canary is answered 502/503/504 by the proxy, which counts as 5xx).
///
/// The controller passes a rolling one-second window of the canary's counts (e.g. the sum of the
/// last ten 100 ms ticks). This rule carries no α guarantee; its false-alarm probability for a
/// canary failing independently with probability p is p^5 per window (3e-12 at p = 0.5 %), and a
/// canary failing at 50 % or more is one to roll back anyway. Below `minRequests` canary requests
/// per second the rule cannot speak, and the sequential judge is all there is.
public struct DeadCanaryRule: Sendable, Equatable {
    /// Responses the last second must hold for the rule to speak.
    public var minRequests: UInt64
    /// As a rollout's judge: the canary's counts of each tick over the last second.
    private var lastSecond: [TickCounts] = []
    /// The first tick judged since the rollout (or this process) began: the guard speaks only on a whole second.
    private var judgingSince: UInt64?

    private struct TickCounts: Sendable, Equatable {
        var at: UInt64
        var requests: UInt64
        var failures: UInt64
    }

    public init(minRequests: UInt64 = 5) {
        self.minRequests = max(minRequests, 1)
    }

    /// Whether the window shows a dead canary.
    public func isDead(canaryRequests: UInt64, canaryFailures: UInt64) -> Bool {
        canaryRequests >= minRequests && canaryFailures >= canaryRequests
    }

    /// The verdict (judge "dead-canary") for the last second's canary counts.
    public func evaluate(canaryRequests: UInt64, canaryFailures: UInt64) -> Verdict {
        let dead = isDead(canaryRequests: canaryRequests, canaryFailures: canaryFailures)
        let summary =
            dead
            ? "dead canary: all \(canaryRequests) canary requests of the last second failed"
            : "canary alive: \(min(canaryFailures, canaryRequests)) of \(canaryRequests) canary requests failed in the last second"
                + (canaryRequests < minRequests ? " (fewer than \(minRequests): the rule does not apply)" : "")
        return Verdict(
            judge: "dead-canary", outcome: dead ? .fail : .pass, summary: summary,
            evidence: [
                .init("canary-requests", Double(canaryRequests)),
                .init("canary-failures", Double(min(canaryFailures, canaryRequests))),
                .init("min-requests", Double(minRequests)),
            ])
    }

    /// The verdict for a one-second window of the canary.
    public func evaluate(lastSecond canary: ArmWindow) -> Verdict {
        evaluate(canaryRequests: canary.n, canaryFailures: canary.failures)
    }
}

/// Always built, whatever `sequential.enabled` says: the one-second promise does not depend on it.
extension DeadCanaryRule: Judge {
    public init?(configuredBy analysis: AnalysisConfig, continuing evidence: RolloutJudges.Evidence) {
        self.init()
    }

    public var name: String { "dead-canary" }

    public mutating func beginRollout(_ analysis: AnalysisConfig) {
        lastSecond.removeAll()
        judgingSince = nil
    }

    /// The verdict over the ticks of the last second, once it has judged a whole second.
    public mutating func observeTick(_ tick: JudgeTick) -> Verdict? {
        observe(canary: tick.canary, now: tick.now)
    }

    /// One tick of the canary's counts alone: the rollout's judge above, and a fleet replica's local guard
    /// (which drops its own canary share to 0 on what it sees itself, whatever the fleet's merged evidence says).
    public mutating func observe(canary: ArmWindow, now: UInt64) -> Verdict? {
        lastSecond.append(TickCounts(at: now, requests: canary.n, failures: canary.failures))
        lastSecond.removeAll { now &- $0.at >= 1_000_000_000 }
        // Only over a whole second: the first ticks after the canary gets traffic may all fall in one burst
        // (judge-sim: bursts of 0.3 s every 3 s on both arms rolled back 11% of healthy rollouts that way).
        let since = judgingSince ?? now
        judgingSince = since
        guard now &- since >= 900_000_000 else { return nil }
        let dead = evaluate(
            canaryRequests: lastSecond.reduce(0) { $0 + $1.requests }, canaryFailures: lastSecond.reduce(0) { $0 + $1.failures })
        return dead.outcome == .fail ? dead : nil
    }
}
