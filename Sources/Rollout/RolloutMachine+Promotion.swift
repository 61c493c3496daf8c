// Steps 12–17: promote (hook, primary readiness, stepWeightPromotion), Promoted, Finalising, Succeeded.
import Config

extension RolloutMachine {
    /// Step 12. With a `promote` hook the user's command deploys the revision as the primary and the
    /// machine waits for the primary to run it; without one the canary itself takes all the traffic.
    mutating func beginPromotion() {
        awaiting = nil
        enter(.promoting)
        state.promoteHookPassed = false
        state.lastProgressAt = now
        state.previousPrimary = servingPrimary
        note("promoting revision \(state.canaryRevision ?? "?")")
        if !requestHooks(.promote) { stepTowardCanary() }
    }

    /// After a restart or a resume in Promoting: redo the step it was at.
    mutating func resumePromotion() {
        if state.promoteHookPassed {
            if state.primaryRevision == state.canaryRevision { dueAt = now } else { probePrimary() }
        } else if !requestHooks(.promote) {
            dueAt = now
        }
    }

    mutating func tickPromoting(_ analysis: AnalysisConfig) {
        guard awaiting == nil else { return }
        if state.promoteHookPassed, state.primaryRevision != state.canaryRevision {
            // Waiting for the primary after the promote hook: like readiness, bounded by progressDeadline.
            if deadlinePassed(analysis) {
                rollBack(
                    "primary not running \(state.canaryRevision ?? "?") within progressDeadline "
                        + Self.describe(analysis.progressDeadline))
            } else if now >= dueAt {
                probePrimary()
            }
        } else if now >= dueAt {
            if state.promoteHookPassed { stepTowardPrimary() } else { stepTowardCanary() }
        }
    }

    /// A failed promote hook means the primary was not updated: rolling back to it is safe.
    mutating func promoteHookCompleted(passed: Bool, detail: String) {
        guard passed else {
            rollBack("promote hook failed: \(detail)")
            return
        }
        state.promoteHookPassed = true
        state.lastProgressAt = now
        note("promote hook passed; waiting for the primary to run \(state.canaryRevision ?? "?")")
        probePrimary()
    }

    mutating func probePrimary() {
        guard let canary = state.canaryRevision else { return }
        actions.append(.probePrimary(expectedRevision: canary))
        dueAt = now + Self.nanoseconds(analysis?.readiness.interval ?? .seconds(1))
    }

    /// A primary that reports no revision is taken at its word once ready; one reporting another revision
    /// is still being updated, and the next probe asks again.
    mutating func primaryReady(revision: String?) {
        guard state.phase == .promoting, state.promoteHookPassed, !state.paused,
            let canary = state.canaryRevision, state.primaryRevision != canary,
            revision == nil || revision == canary
        else { return }
        state.primaryRevision = canary
        state.lastProgressAt = now
        note("primary ready with revision \(canary)")
        stepTowardPrimary()
    }

    /// Flagger's `stepWeightPromotion` after the primary is updated: the (new) primary's share grows by that
    /// much per interval, i.e. the canary's shrinks, then Finalising. Without it, all at once.
    mutating func stepTowardPrimary() {
        let step = analysis?.stepWeightPromotion ?? 0
        guard step > 0, state.canaryWeight > step else {
            finalise()
            return
        }
        setWeight(state.canaryWeight - step)
        note("promotion: primary weight \(100 - state.canaryWeight)%")
        dueAt = now + Self.nanoseconds(analysis?.interval ?? .seconds(60))
    }

    /// Without a promote hook the canary becomes the serving version: `stepWeightPromotion` raises its share
    /// toward 100 once per interval (the first step at once), else it gets 100% at once; then `Promoted`.
    mutating func stepTowardCanary() {
        let step = analysis?.stepWeightPromotion ?? 0
        setWeight(step > 0 ? min(100, state.canaryWeight + step) : 100)
        if state.canaryWeight >= 100 {
            enter(.promoted)
            note("canary \(state.canaryRevision ?? "?") holds 100%; a reload that makes it the primary's revision completes the promotion")
        } else {
            note("promotion: canary weight \(state.canaryWeight)%")
            dueAt = now + Self.nanoseconds(analysis?.interval ?? .seconds(60))
        }
    }

    /// Steps 14–16: all traffic to the primary, the canary's pool drained (before the post-rollout hooks,
    /// which may stop the canary), then `post-rollout` hooks.
    mutating func finalise() {
        // Reached from a reload right after a restore: this is the resumption, no need to redo it on the next tick.
        needsResume = false
        awaiting = nil
        enter(.finalising)
        setWeight(0)
        note("finalising: all traffic to the primary")
        actions.append(.drainCanary)
        if !requestHooks(.postRollout) { succeed(postRolloutFailure: nil) }
    }

    /// As in Flagger a failing post-rollout hook is reported, not a reason to undo a finished promotion.
    mutating func postRolloutCompleted(passed: Bool, detail: String) {
        succeed(postRolloutFailure: passed ? nil : detail)
    }

    /// Step 17. A reload that arrived while finalising (a newer canary revision) is applied now.
    mutating func succeed(postRolloutFailure: String?) {
        awaiting = nil
        enter(.succeeded)
        state.lastAnalysedRevision = state.canaryRevision
        if let canary = state.canaryRevision { state.primaryRevision = canary }
        note(
            "promotion of \(state.canaryRevision ?? "?") completed"
                + (postRolloutFailure.map { "; post-rollout hook failed: \($0)" } ?? ""),
            severity: postRolloutFailure == nil ? .info : .error)
        openAfterPromotion()
        applyConfiguration()
    }
}
