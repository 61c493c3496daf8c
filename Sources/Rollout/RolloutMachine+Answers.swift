// The controller's answers to hook runs, and the judges' call to roll back between intervals.
import Analysis
import Config

extension RolloutMachine {
    /// Routes a hook answer to the stage that asked for it; answers nobody waits for are stale and ignored.
    mutating func hooksCompleted(_ type: HookType, passed: Bool, detail: String) {
        guard awaiting == .hooks(type), !state.paused else {
            // Rollback hooks are fire-and-forget, but a failure is worth a line in the event log.
            if type == .rollback, !passed { emitOnly("rollback hook failed: \(detail)", severity: .error) }
            return
        }
        awaiting = nil
        switch type {
        case .confirmRollout: confirmRolloutCompleted(passed: passed, detail: detail)
        case .preRollout: preRolloutCompleted(passed: passed, detail: detail)
        case .rollout: rolloutHookCompleted(passed: passed, detail: detail)
        case .confirmTrafficIncrease: trafficIncreaseCompleted(passed: passed, detail: detail)
        case .confirmPromotion: confirmPromotionCompleted(passed: passed, detail: detail)
        case .promote: promoteHookCompleted(passed: passed, detail: detail)
        case .postRollout: postRolloutCompleted(passed: passed, detail: detail)
        case .rollback: undoHookCompleted(passed: passed, detail: detail)
        case .event: break
        }
    }

    /// Step 9's fast path: the sequential judge or a dead canary rolls back at once, whatever `failedChecks`
    /// says, even while paused (a pause freezes progress, not safety).
    mutating func immediateFailure(_ verdict: Verdict) {
        guard canRollBack else { return }
        state.lastVerdicts = [VerdictRecord(verdict)]
        rollBack("\(verdict.judge): \(verdict.summary)")
    }

    /// The canary carries traffic the primary could take back: while analysed, held at 100% (`Promoted`), or
    /// promoting before the promote hook has changed the primary (after that, the primary is the new version).
    var canRollBack: Bool {
        switch state.phase {
        case .progressing, .waitingPromotion, .promoted: true
        case .promoting: !state.promoteHookPassed
        case .initializing, .waiting, .initialized, .finalising, .succeeded, .failed, .held: false
        }
    }
}
