// Iterations (Flagger's A/B and blue/green): the canary held live at weight 0 for N passing intervals, then one switch.
import Analysis
import Config

extension RolloutMachine {
    // `analysis.iterations` replaces the weight steps (the decoder refuses both together).
    //
    // Nothing else differs between A/B and blue/green here: the route decides who reaches a canary held live
    // at 0 (its `canary.match` cohort, or the copies of its mirror, or nobody). After the last iteration the
    // usual promotion runs, which moves all traffic at once: without a `promote` hook the canary gets 100%
    // in one step, with one the primary becomes the new revision. A rollback from weight 0 is one switch
    // (live off), so `stepWeightRollback` has nothing to step (`AnalysisConfig.usesIterations`).

    /// Weight 0 with the canary live: only what is singled out for it reaches it.
    mutating func holdLiveAtZero() {
        setWeight(0)
        setCanaryLive(true)
    }

    /// Tells the data plane only on a change; `setWeight` clears it.
    mutating func setCanaryLive(_ live: Bool) {
        guard live != state.isCanaryLiveAtZero else { return }
        state.canaryLiveAtZero = live ? true : nil
        actions.append(.setCanaryLive(live))
    }

    /// One passing interval counts one iteration; the last one asks the promotion gate, which (refused) is
    /// re-asked after every further passing interval in WaitingPromotion.
    mutating func iterationPassed(_ analysis: AnalysisConfig, basis: String) {
        state.completedIterations += 1
        let needed = analysis.iterations ?? 1
        if state.completedIterations >= needed || state.phase == .waitingPromotion {
            askPromotionGate()
        } else {
            note("iteration \(state.completedIterations)/\(needed) passed\(basis)")
        }
    }

    /// An interval in which the canary had no request at all. The judges measure traffic, so they lack data
    /// and would hold the rollout until `progressDeadline`. In iterations mode a route with `rollout` hooks
    /// (Flagger's load and conformance tests, which passed before the judges were asked) is judged by them
    /// instead, as Flagger's blue/green without traffic is. Without such hooks the interval holds as usual:
    /// a canary that nothing exercises is never promoted, it fails at `progressDeadline`. In step mode, or
    /// with a failing verdict, it is an ordinary interval.
    mutating func intervalWithoutCanaryTraffic(_ verdicts: [Verdict]) {
        guard let analysis, analysis.usesIterations, hasHooks(.rollout), !verdicts.contains(where: { $0.outcome == .fail })
        else {
            intervalVerdicts(verdicts)
            return
        }
        guard awaiting == .verdicts, state.phase == .progressing || state.phase == .waitingPromotion else { return }
        awaiting = nil
        state.lastVerdicts = verdicts.map(VerdictRecord.init)
        state.lastProgressAt = now
        iterationPassed(analysis, basis: " on the rollout hooks (the canary had no traffic for the judges)")
    }
}
