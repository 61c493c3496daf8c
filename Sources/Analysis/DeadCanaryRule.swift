// The deterministic dead-canary guard: every canary request of the last second failed.

/// A deterministic guard beside the sequential judge, for the issue's demand that "a canary whose
/// every request fails, or that is unreachable, is rolled back within one second at any weight".
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
        let summary = dead
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
