// Steps 2–4: readiness before any traffic, the confirm-rollout gate, pre-rollout hooks, the first weight step.
import Config

extension RolloutMachine {
    mutating func tickInitializing(_ analysis: AnalysisConfig) {
        // While `confirm-rollout` is being asked the canary is already ready; only a missing canary times out.
        guard awaiting == nil else { return }
        if deadlinePassed(analysis) {
            rollBack("canary not ready within progressDeadline \(Self.describe(analysis.progressDeadline))")
        } else if now >= dueAt {
            probeReadiness()
        }
    }

    /// Asks for the canary's readiness; repeated every `readiness.interval` until it answers ready.
    mutating func probeReadiness() {
        actions.append(.probeCanaryReadiness)
        dueAt = now + Self.nanoseconds(analysis?.readiness.interval ?? .seconds(1))
    }

    mutating func canaryReady(_ ready: Bool) {
        // Not ready: the next tick after `readiness.interval` probes again; the deadline check fails it.
        guard ready, state.phase == .initializing, awaiting == nil, !state.paused, !needsResume else { return }
        state.lastProgressAt = now
        askConfirmRollout()
    }

    /// Step 2's gate: `confirm-rollout` hooks (e.g. a manual approval) hold the rollout in `Waiting`.
    mutating func askConfirmRollout() {
        if !requestHooks(.confirmRollout) { rolloutConfirmed() }
    }

    /// Answer of `confirm-rollout`. A failing gate is not a failed check: Flagger waits for approval
    /// indefinitely, so `Waiting` is not subject to `progressDeadline` either; the gate is re-asked every interval.
    mutating func confirmRolloutCompleted(passed: Bool, detail: String) {
        guard passed else {
            enter(.waiting)
            note("waiting for confirm-rollout: \(detail)")
            dueAt = now + Self.nanoseconds(analysis?.interval ?? .seconds(60))
            return
        }
        rolloutConfirmed()
    }

    mutating func rolloutConfirmed() {
        state.lastProgressAt = now
        // skipAnalysis (Flagger): no pre-rollout hooks, no steps, no checks, no confirm-promotion — promote
        // as soon as the canary is ready and its rollout confirmed.
        if analysis?.skipAnalysis == true {
            note("canary \(state.canaryRevision ?? "?") ready; skipAnalysis: promoting without analysis")
            beginPromotion()
            return
        }
        enter(.initialized)
        runPreRollout()
    }

    /// Step 3: weight 0, `pre-rollout` hooks. Unlike Flagger, which counts a failing pre-rollout hook as a
    /// failed check, a failure here rolls back at once: nothing has been learnt about the canary yet, and a
    /// failing pre-rollout (e.g. a smoke test) is a reason not to send it any traffic.
    mutating func runPreRollout() {
        note("canary \(state.canaryRevision ?? "?") ready and confirmed" + (hasHooks(.preRollout) ? "; running pre-rollout hooks" : ""))
        if !requestHooks(.preRollout) { startProgressing() }
    }

    mutating func preRolloutCompleted(passed: Bool, detail: String) {
        guard passed else {
            rollBack("pre-rollout hook failed: \(detail)")
            return
        }
        startProgressing()
    }

    /// Step 4–5: the first weight step (iterations: a live hold at 0), and fresh analysis windows from this moment.
    mutating func startProgressing() {
        guard let analysis else { return }
        enter(.progressing)
        state.lastProgressAt = now
        state.stepIndex = 0
        if analysis.usesIterations, let iterations = analysis.iterations {
            holdLiveAtZero()
            note("starting \(iterations) iterations at canary weight 0%, the canary live for its cohort or mirrored copies")
        } else {
            setWeight(Self.nextWeight(after: 0, analysis))
            note("starting analysis at canary weight \(state.canaryWeight)%")
        }
        openWindow()
    }
}
