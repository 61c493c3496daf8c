// A failed attempt sent again within its arm, when the rule allows it and the arm's budget has room.
import Telemetry

extension ProxyLoop {
    /// The endpoint to send a failed attempt to again, or nil: the exchange answers with the failure.
    ///
    /// The arm is found by the request's shard, which names its (route, arm) across reloads; a retry
    /// therefore never leaves the arm the request was assigned to. On a retry the attempt's failure is
    /// counted on the arm now, by source (`canarygate_upstream_failures_total`), with the retry, and
    /// the exchange marks the request (`AttemptLog`) so that its outcome counts as failed for the judges.
    func retryTarget(for attempt: FailedAttempt, on pool: UpstreamPool, shard: ArmShard?) -> UpstreamPool? {
        guard let shard, let arm = upstreams.arm(countedBy: shard), attempt.mayRetry(policy: arm.retryPolicy),
            let target = arm.retryTarget(after: pool, retriesSoFar: attempt.retriesSoFar, now: loop.now)
        else { return nil }
        shard.recordFailure(attempt.kind)
        shard.recordRetry()
        return target
    }
}
