// The operators' verbs (pause, resume, promote, abort, retry, undo): where each applies, and what it does.

extension RolloutMachine {
    /// Why `verb` cannot be applied now, or nil if it can. The admin API answers with this reason.
    public func canApply(_ verb: ManualVerb) -> String? {
        let phase = state.phase.rawValue
        switch verb {
        case .pause:
            if state.paused { return "the rollout is already paused" }
            if state.stepDownReason != nil { return Self.steppingDownAdvice }
            switch state.phase {
            case .initializing, .waiting, .initialized, .progressing, .waitingPromotion, .promoting: return nil
            // Promoted waits for a reload, Finalising is short, and a steady route has no timers to freeze.
            case .promoted, .finalising, .succeeded, .failed, .held: return "nothing to pause in phase \(phase)"
            }
        case .resume:
            if state.phase == .held { return Self.heldAdvice }
            return state.paused ? nil : "the rollout is not paused"
        case .promote(let force):
            if state.stepDownReason != nil { return Self.steppingDownAdvice }
            switch state.phase {
            case .progressing, .waitingPromotion: return nil
            case .held where force: return heldRevisionIsConfigured ? nil : "the held revision is no longer the configured canary"
            case .held: return Self.heldAdvice
            default: return "promote applies in Progressing or WaitingPromotion, not \(phase)"
            }
        case .abort:
            switch state.phase {
            case .initializing, .waiting, .initialized, .held: return nil
            case .promoting where state.promoteHookPassed:
                return "the promote hook has already updated the primary"
            default: return canRollBack ? nil : "no rollout to abort in phase \(phase)"
            }
        case .retry:
            guard state.phase == .failed || state.phase == .held else { return "retry applies to a Failed or Held rollout, not \(phase)" }
            guard heldRevisionIsConfigured else {
                return "the \(state.phase == .held ? "held" : "failed") revision is no longer the configured canary"
            }
            return nil
        case .undo:
            return undoRefusal
        }
    }

    /// Where a held rollout stood is unknown, so there is nothing to resume or to judge for a promotion.
    public static let heldAdvice =
        "the rollout's state was lost, so where it stood is unknown: retry, abort or promote --force "
        + "(run it again from readiness, count it rolled back, or promote it without analysis)"

    /// A rollback under way is only ever finished, never frozen or turned into a promotion.
    public static let steppingDownAdvice = "the canary failed its analysis and is being rolled back: abort finishes it at once"

    private var heldRevisionIsConfigured: Bool {
        guard let canary = state.canaryRevision else { return false }
        return canary == configuredCanary && analysis != nil
    }

    /// An illegal verb changes nothing but leaves a line in the event log.
    mutating func apply(_ verb: ManualVerb) {
        if let reason = canApply(verb) {
            emitOnly("\(verb.name) ignored: \(reason)")
            return
        }
        switch verb {
        case .pause:
            // Answers to requests in flight are dropped; resume asks again (fresh window, gate, hook).
            awaiting = nil
            state.paused = true
            note("paused by operator at weight \(state.canaryWeight)%")
        case .resume:
            state.paused = false
            // The deadline clock restarts: time spent paused is not a lack of progress.
            state.lastProgressAt = now
            note("resumed by operator")
            resumeStage()
        case .promote(let force):
            // Promote unpauses (as in Argo Rollouts). A paused rollout's window is stale: start a fresh one.
            if state.paused {
                state.paused = false
                openWindow()
            }
            awaiting = nil
            if force {
                note("promotion forced by operator: remaining steps and gates skipped")
                beginPromotion()
            } else {
                note("promoted by operator: remaining steps skipped")
                askPromotionGate()
            }
        case .abort:
            rollBack("aborted by operator")
        case .retry:
            start(state.canaryRevision ?? "", replacing: nil, retry: true)
        case .undo:
            undo("undone by operator")
        }
    }
}
