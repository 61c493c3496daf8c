// After Succeeded: the rollback window, the watch against the old primary's baseline, and undo (README, "After promotion").
import Analysis
import Config

extension RolloutMachine {
    /// What serves the route's primary traffic now: an undo's override, else the configured primary.
    var servingPrimary: ArmRecord {
        state.primaryOverride?.arm ?? ArmRecord(revision: configuredPrimary, endpoints: configuredPrimaryEndpoints)
    }

    /// At Succeeded: with `rollbackWindow` or `watch`, keep the primary the promotion replaced (recorded when
    /// promoting began) and start the watch's first window.
    mutating func openAfterPromotion() {
        let previous = state.previousPrimary
        state.previousPrimary = nil
        guard let analysis, let previous, let revision = state.canaryRevision, previous.revision != revision else { return }
        let window = Self.nanoseconds(analysis.rollbackWindow), watch = Self.nanoseconds(analysis.watch)
        guard window > 0 || watch > 0 else { return }
        state.afterPromotion = AfterPromotion(
            revision: revision, previousPrimary: previous, windowClosesAt: window > 0 ? now + window : nil,
            watchEndsAt: watch > 0 ? now + watch : nil)
        var parts: [String] = []
        if window > 0 { parts.append("undo to \(previous.described) possible for \(Self.describe(analysis.rollbackWindow))") }
        if watch > 0 {
            parts.append("watching \(revision) against \(previous.revision)'s pre-promotion baseline for \(Self.describe(analysis.watch))")
            openWatchWindow()
        }
        state.message += "; " + parts.joined(separator: "; ")
        emitOnly(parts.joined(separator: "; "))
    }

    /// A new rollout (or `retry`) ends what the last promotion kept: the previous primary is two revisions back.
    mutating func endAfterPromotion(superseded revision: String) {
        guard let after = state.afterPromotion else { return }
        state.afterPromotion = nil
        if after.windowClosesAt != nil || after.watchEndsAt != nil {
            emitOnly("rollback window and watch of \(after.revision) ended: revision \(revision) starts a new rollout")
        }
    }

    mutating func openWatchWindow() {
        actions.append(.startWatchWindow)
        dueAt = now + Self.nanoseconds(analysis?.interval ?? .seconds(60))
    }

    /// After a restart in Succeeded: the watch's window starts afresh (its baseline may be gone: see the controller).
    mutating func resumeWatch() {
        if state.phase == .succeeded, state.afterPromotion?.watchEndsAt != nil { openWatchWindow() }
    }

    /// Succeeded: the watch's intervals and end, and the rollback window's end.
    mutating func tickAfterPromotion(_ analysis: AnalysisConfig) {
        guard var after = state.afterPromotion else { return }
        if let end = after.watchEndsAt, awaiting == nil {
            if now >= dueAt, dueAt <= end {
                awaiting = .watchVerdicts
                actions.append(.analyseWatchInterval(index: after.watchedIntervals + 1))
                dueAt = now + Self.nanoseconds(analysis.interval)
            } else if now >= end {
                after.watchEndsAt = nil
                state.afterPromotion = after
                note(
                    "watch of \(after.revision) passed: \(after.watchedIntervals) interval(s) judged against "
                        + "\(after.previousPrimary.revision)'s pre-promotion baseline without a failure")
            }
        }
        if let closes = after.windowClosesAt, now >= closes {
            after.windowClosesAt = nil
            state.afterPromotion = after
            note("rollback window of \(after.revision) closed: undo no longer applies")
        }
        if after.isOver { state.afterPromotion = nil }
    }

    /// A watch interval's verdicts: a failure undoes the promotion while the rollback window is open, and
    /// otherwise ends the watch with an alert (the message, the event log and `afterPromotion.watchAlert`).
    mutating func watchVerdicts(_ verdicts: [Verdict]) {
        guard awaiting == .watchVerdicts, state.phase == .succeeded, var after = state.afterPromotion, after.watchEndsAt != nil
        else { return }
        awaiting = nil
        state.lastVerdicts = verdicts.map(VerdictRecord.init)
        let judged = verdicts.contains { $0.outcome != .noData }
        if judged { after.watchedIntervals += 1 }
        state.afterPromotion = after
        let failed = verdicts.filter { $0.outcome == .fail }
        guard !failed.isEmpty else {
            note(
                judged
                    ? "watch interval \(after.watchedIntervals) of \(after.revision) passed"
                    : "watch of \(after.revision): no data this interval (\(verdicts.map(\.summary).joined(separator: "; ")))")
            return
        }
        let reason = "watch: " + failed.map { "\($0.judge): \($0.summary)" }.joined(separator: "; ")
        if let refusal = undoRefusal {
            after.watchEndsAt = nil
            after.watchAlert = reason
            state.afterPromotion = after
            note("ALERT: \(after.revision) degraded after its promotion and cannot be undone (\(refusal)); \(reason)", severity: .error)
        } else {
            undo("undone by the watch (\(reason))")
        }
    }

    /// Why `undo` cannot apply now, or nil.
    var undoRefusal: String? {
        guard let after = state.afterPromotion, state.phase == .succeeded else {
            if analysis?.rollbackWindow ?? .zero == .zero { return "analysis.rollbackWindow is 0: nothing is kept to undo a promotion" }
            return "nothing to undo: no promotion succeeded within rollbackWindow"
        }
        guard let closes = after.windowClosesAt, now < closes else {
            if analysis?.rollbackWindow ?? .zero == .zero { return "analysis.rollbackWindow is 0: nothing is kept to undo a promotion" }
            return "the rollback window of \(after.revision) has closed: roll forward, or configure \(after.previousPrimary.revision) again"
        }
        if Self.sameEndpoints(after.previousPrimary, servingPrimary), !hasHooks(.rollback) {
            return
                "\(after.previousPrimary.revision) ran on the primary's current endpoints, and the route has no rollback hook to redeploy it"
        }
        return nil
    }

    /// Without analysis: the previous primary back at once. Other endpoints: the route's primary traffic goes
    /// there (`overridePrimary`); the same endpoints (a promote hook deployed in place): the `rollback` hooks
    /// redeploy it. Either way the rollout is `Failed` and the revision counts as analysed, as after a rollback.
    mutating func undo(_ reason: String) {
        guard undoRefusal == nil, let after = state.afterPromotion else { return }
        let previous = after.previousPrimary, current = servingPrimary
        awaiting = nil
        state.afterPromotion = nil
        enter(.failed)
        setWeight(0)
        state.lastAnalysedRevision = after.revision
        state.primaryRevision = previous.revision
        if Self.sameEndpoints(previous, current) {
            state.lastUndo = UndoRecord(
                undone: after.revision, restored: previous.revision, method: .rollbackHook, reason: reason, hookResult: "running")
            note(
                "\(reason): the rollback hooks redeploy \(previous.revision) on the primary's endpoints (\(after.revision) undone)",
                severity: .error)
            _ = requestHooks(.rollback)
        } else {
            let override = PrimaryOverride(arm: previous, replaces: current)
            state.primaryOverride = override
            state.lastUndo = UndoRecord(undone: after.revision, restored: previous.revision, method: .endpoints, reason: reason)
            note(
                "\(reason): primary traffic back to \(previous.described) (\(after.revision) undone) until a reload changes the primary",
                severity: .error)
            actions.append(.overridePrimary(override))
        }
    }

    /// The `rollback` hooks an undo ran (other rollbacks do not wait for theirs).
    mutating func undoHookCompleted(passed: Bool, detail: String) {
        guard var undo = state.lastUndo, undo.hookResult == "running" else { return }
        undo.hookResult = passed ? "passed" : "failed: \(detail)"
        state.lastUndo = undo
        note(
            passed
                ? "rollback hooks passed: \(undo.restored) redeployed (\(undo.undone) undone)"
                : "rollback hooks failed: \(detail); \(undo.undone) may still serve the primary's traffic",
            severity: passed ? .info : .error)
    }

    /// At a reload: an undo's override ends when the config's primary is no longer the one it replaced.
    mutating func reviewPrimaryOverride() {
        guard let override = state.primaryOverride else { return }
        let configured = ArmRecord(revision: configuredPrimary, endpoints: configuredPrimaryEndpoints)
        guard !override.holds(against: configured) else { return }
        state.primaryOverride = nil
        note("primary override to \(override.arm.described) ended: the config's primary is now \(configured.described)")
    }

    /// The same endpoints in any order.
    static func sameEndpoints(_ a: ArmRecord, _ b: ArmRecord) -> Bool {
        Set(a.hostPorts) == Set(b.hostPorts)
    }
}
