// Config changes: which revision a route should be rolling out, and starting (or restarting) its rollout.
import Config

extension RolloutMachine {
    mutating func configure(primary: String, canary: String?, analysis: AnalysisConfig?, endpoints: [HostPort]) {
        self.analysis = analysis
        configuredPrimary = primary
        configuredCanary = canary
        configuredPrimaryEndpoints = endpoints
        reviewPrimaryOverride()
        // While promoting, the primary's revision is what the primary itself reported; a reload written
        // before the `promote` hook ran must not undo that. An undo's override serves its own revision.
        if state.phase != .promoting && state.phase != .finalising {
            state.primaryRevision = state.primaryOverride?.arm.revision ?? primary
        }
        applyConfiguration()
    }

    /// Compares the configured revisions with the rollout's, at a reload and again when a promotion completes.
    mutating func applyConfiguration() {
        // Step 12–13 without a promote hook: the reload that makes the primary the canary's revision ends it.
        if state.phase == .promoted, configuredPrimary == state.canaryRevision {
            finalise()
            return
        }
        // Finalising is short (post-rollout hooks); a new revision starts once it has completed.
        if state.phase == .finalising { return }
        guard let canary = configuredCanary, analysis != nil else {
            becomeUnmanaged()
            return
        }
        if state.phase.isInProgress {
            // The same revision carries on with the new settings; a different one restarts from weight 0.
            if canary != state.canaryRevision { start(canary, replacing: state.canaryRevision) }
            return
        }
        if state.phase == .held, holds(canary) { return }
        // Steady: the revision last analysed (promoted or rolled back) changes nothing, and neither does a
        // canary that already is the primary's revision (e.g. a first start after a promotion, no state file).
        if canary == state.lastAnalysedRevision || canary == configuredPrimary { return }
        start(canary, replacing: nil)
    }

    /// Held: whether `canary` is the revision held (the one configured when the state was found lost, which
    /// may have been rolled back already: it must not get traffic, a readiness probe or hooks again by itself).
    /// Any other revision is a new rollout; one that is the primary's has nothing to hold.
    mutating func holds(_ canary: String) -> Bool {
        if canary == configuredPrimary {
            enter(.succeeded)
            note("revision \(canary) is the primary's: nothing to roll out (\(state.message))")
            return true
        }
        guard state.canaryRevision == nil || state.canaryRevision == canary else { return false }
        if state.canaryRevision == nil {
            state.canaryRevision = canary
            note(
                "\(state.message); revision \(canary) gets no traffic until an operator runs retry, abort or promote --force",
                severity: .warn)
        }
        return true
    }

    /// Step 1–2: a new revision. Weight 0, counters reset, readiness probed before any traffic.
    mutating func start(_ canary: String, replacing previous: String?, retry: Bool = false) {
        needsResume = false
        awaiting = nil
        state.canaryRevision = canary
        state.rolloutNumber = (state.rolloutNumber ?? 0) + 1
        state.failedChecks = 0
        state.completedIterations = 0
        state.stepIndex = 0
        state.paused = false
        state.promoteHookPassed = false
        state.stepDownReason = nil
        state.lastVerdicts = []
        state.previousPrimary = nil
        state.lastUndo = nil
        endAfterPromotion(superseded: canary)
        state.lastProgressAt = now
        state.phase = .initializing
        state.phaseEnteredAt = now
        setWeight(0)
        if retry {
            note("retrying revision \(canary): initializing")
        } else if let previous {
            note("new revision \(canary) replaces \(previous) mid-rollout: restarting from weight 0")
        } else {
            note("new revision \(canary) detected: initializing")
        }
        probeReadiness()
    }

    /// No canary or no `analysis` section: nothing to roll out. The route is steady with all traffic on the
    /// primary as far as the machine is concerned (a route without `analysis` keeps its static weights: the
    /// controller applies the machine's weights only to managed routes). A rollout in progress is cancelled.
    mutating func becomeUnmanaged() {
        needsResume = false
        guard state.phase != .succeeded || state.canaryWeight != 0 || state.paused else { return }
        let why = configuredCanary == nil ? "no canary configured" : "no analysis section"
        let cancelled = state.phase.isInProgress ? "rollout of \(state.canaryRevision ?? "?") cancelled: " : ""
        awaiting = nil
        state.paused = false
        state.stepDownReason = nil
        enter(.succeeded)
        setWeight(0)
        note(cancelled + why + "; all traffic on the primary")
    }
}
