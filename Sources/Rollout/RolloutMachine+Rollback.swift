// Step 9's rollback: at once to weight 0, or (failed checks with `stepWeightRollback`) stepped down per interval.

extension RolloutMachine {
    /// Step 9's rollback, also for deadlines, failed hooks, immediate failures and abort: weight 0 at once,
    /// `Failed`, `rollback` hooks. The revision counts as analysed, so only a new one or `retry` runs again.
    mutating func rollBack(_ reason: String) {
        awaiting = nil
        state.paused = false
        state.stepDownReason = nil
        enter(.failed)
        setWeight(0)
        state.lastAnalysedRevision = state.canaryRevision
        note("rolled back \(state.canaryRevision ?? "?"): \(reason)", severity: .error)
        _ = requestHooks(.rollback)
        // Nobody waits on the rollback hooks' answer: the rollout has ended whatever they say.
        awaiting = nil
    }

    /// `threshold` failed checks: with `stepWeightRollback` the canary's weight steps down by that much now and
    /// every interval after, then the rollback above. The decision stands once taken: no interval is judged
    /// meanwhile, so a passing one cannot bring the canary back up. Only failed checks step down: deadlines and
    /// failed `pre-rollout` or `promote` hooks go to 0 at once, and the sequential judge, the dead-canary guard
    /// (`immediateFailure`) and `abort` do too, during a step-down as well.
    mutating func rollBackGradually(_ reason: String) {
        // A weight no larger than one step (iterations' 0 among them) has nothing to step down: one switch.
        let step = analysis?.stepWeightRollback ?? 0
        guard step > 0, state.canaryWeight > step else {
            rollBack(reason)
            return
        }
        awaiting = nil
        state.stepDownReason = reason
        enter(.progressing)
        stepDown()
    }

    /// One step down, or the rollback once the next step would reach 0 (or a reload turned the steps off).
    mutating func stepDown() {
        guard let reason = state.stepDownReason else { return }
        let step = analysis?.stepWeightRollback ?? 0
        guard step > 0, state.canaryWeight > step else {
            rollBack("\(reason) (weight stepped down gradually)")
            return
        }
        state.lastProgressAt = now
        setWeight(state.canaryWeight - step)
        note("rolling back \(state.canaryRevision ?? "?") gradually, canary weight \(state.canaryWeight)%: \(reason)", severity: .error)
        dueAt = now + Self.nanoseconds(analysis?.interval ?? .seconds(60))
    }
}
