// Steps 5–11: every interval the rollout hooks and the judges; the weight steps up, holds, or rolls back.
import Analysis
import Config

extension RolloutMachine {
    /// Progressing and WaitingPromotion: the deadline for intervals without data, then the next interval.
    mutating func tickAnalysis(_ analysis: AnalysisConfig) {
        guard awaiting == nil else { return }
        if state.stepDownReason != nil {
            if now >= dueAt { stepDown() }
            return
        }
        // Only `no data` intervals fail to move `lastProgressAt`; judged ones (pass or fail) do. In
        // WaitingPromotion the analysis is done and a human gate holds it, so no deadline applies there.
        if state.phase == .progressing, deadlinePassed(analysis) {
            rollBack(
                "no progress within progressDeadline \(Self.describe(analysis.progressDeadline))"
                    + " (intervals without enough data)")
            return
        }
        guard now >= dueAt else { return }
        if !requestHooks(.rollout) { requestVerdicts() }
    }

    /// `pace: evidence`: the controller found the evidence for this step sufficient after `minDwell`, so the
    /// interval (rollout hooks, then every judge) is analysed now. Only while progressing and not paused or
    /// busy; the verdicts still decide, and a hold waits for the next chance as before.
    mutating func analyseEarly() {
        guard state.phase == .progressing, analysis?.pace == .evidence, awaiting == nil, !state.paused, !needsResume,
            state.stepDownReason == nil
        else { return }
        if !requestHooks(.rollout) { requestVerdicts() }
    }

    /// Fresh interval and sequential windows from now; the interval ends `interval` later.
    mutating func openWindow() {
        awaiting = nil
        actions.append(.startAnalysisWindow)
        dueAt = now + Self.nanoseconds(analysis?.interval ?? .seconds(60))
    }

    /// The controller judges the window and starts the next one itself, so the next interval starts now.
    mutating func requestVerdicts() {
        awaiting = .verdicts
        actions.append(.analyseInterval)
        dueAt = now + Self.nanoseconds(analysis?.interval ?? .seconds(60))
    }

    /// Flagger counts a failing `rollout` hook (e.g. a load test's checks) as a failed check.
    mutating func rolloutHookCompleted(passed: Bool, detail: String) {
        if passed {
            requestVerdicts()
            return
        }
        // The window that was running is not judged; the next interval gets a fresh one.
        openWindow()
        failedCheck("rollout hook failed: \(detail)")
    }

    mutating func intervalVerdicts(_ verdicts: [Verdict]) {
        guard awaiting == .verdicts, state.phase == .progressing || state.phase == .waitingPromotion else { return }
        awaiting = nil
        state.lastVerdicts = verdicts.map(VerdictRecord.init)
        let failed = verdicts.filter { $0.outcome == .fail }
        let holding = verdicts.filter { $0.outcome == .hold }
        if !failed.isEmpty {
            failedCheck(failed.map { "\($0.judge): \($0.summary)" }.joined(separator: "; "))
        } else if !holding.isEmpty {
            // Not enough evidence yet that the canary is good enough to go further: hold without counting
            // progress, so progressDeadline ends a rollout that never gathers it (failing safe).
            note("\(holding.map(\.summary).joined(separator: "; ")) at \(state.canaryWeight)%")
        } else if !verdicts.isEmpty, !verdicts.contains(where: { $0.outcome == .pass }) {
            // Every judge lacked data (fewer than minRequests): hold, not failed, until progressDeadline.
            // Waiting for promotion, the analysis is complete anyway and the gate is re-asked.
            if state.phase == .waitingPromotion {
                askPromotionGate()
            } else {
                note("no data: \(verdicts.map(\.summary).joined(separator: "; ")); weight held at \(state.canaryWeight)%", severity: .warn)
            }
        } else {
            // At least one pass and no fail (some judges may lack data) is a pass. No verdicts at all means
            // nothing is configured to judge, which passes — as a Flagger analysis without metrics does.
            state.lastProgressAt = now
            intervalPassed()
        }
    }

    /// A failed check holds the weight; `threshold` of them roll back (step 9), gradually with `stepWeightRollback`.
    mutating func failedCheck(_ reason: String) {
        let threshold = max(1, analysis?.threshold ?? 1)
        state.failedChecks += 1
        state.lastProgressAt = now
        if state.failedChecks >= threshold {
            rollBackGradually("failed checks \(state.failedChecks)/\(threshold): \(reason)")
        } else {
            note("failed check \(state.failedChecks)/\(threshold): \(reason); weight held at \(state.canaryWeight)%", severity: .warn)
        }
    }

    mutating func intervalPassed() {
        guard let analysis else { return }
        if analysis.usesIterations {
            iterationPassed(analysis, basis: "")
            return
        }
        if state.phase == .progressing, state.canaryWeight < Self.maxWeight(analysis) {
            if !requestHooks(.confirmTrafficIncrease) { advance() }
            return
        }
        // Step 10–11: at maxWeight one more passing interval, then the promotion gate.
        state.completedIterations += 1
        askPromotionGate()
    }

    /// Answer of `confirm-traffic-increase`: a failing gate holds the weight without counting as a failure;
    /// the next passing interval asks again.
    mutating func trafficIncreaseCompleted(passed: Bool, detail: String) {
        guard passed else {
            note("confirm-traffic-increase holds the weight at \(state.canaryWeight)%: \(detail)")
            return
        }
        advance()
    }

    /// The next step: `stepWeight` more, or the next of `stepWeights`, never above maxWeight.
    mutating func advance() {
        guard let analysis else { return }
        state.stepIndex += 1
        setWeight(Self.nextWeight(after: state.canaryWeight, analysis))
        note("advance canary weight to \(state.canaryWeight)%")
    }

    /// Step 11's gate: `confirm-promotion` holds the rollout in WaitingPromotion, re-asked every interval.
    mutating func askPromotionGate() {
        if !requestHooks(.confirmPromotion) { beginPromotion() }
    }

    mutating func confirmPromotionCompleted(passed: Bool, detail: String) {
        guard passed else {
            enter(.waitingPromotion)
            note("waiting for confirm-promotion: \(detail)")
            return
        }
        beginPromotion()
    }

    // MARK: - Weights

    /// With `stepWeights` the last entry is the maximum (as in Flagger); otherwise `maxWeight` (0: 100).
    static func maxWeight(_ a: AnalysisConfig) -> Int {
        if let last = a.stepWeights.last { return min(100, max(1, last)) }
        return a.maxWeight > 0 ? min(100, a.maxWeight) : 100
    }

    /// Computed from the current weight rather than a step counter, so a reload that changes the steps
    /// mid-rollout continues sensibly.
    static func nextWeight(after weight: Int, _ a: AnalysisConfig) -> Int {
        let cap = maxWeight(a)
        if !a.stepWeights.isEmpty { return min(cap, a.stepWeights.first { $0 > weight } ?? cap) }
        return min(cap, weight + max(1, a.stepWeight))
    }
}
