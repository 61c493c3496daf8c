// What the controller tells a rollout: config changes, clock ticks, answers to its requests, operators' verbs.
import Analysis
import Config

/// One input to `RolloutMachine.handle(_:now:)`. Answers (`canaryReady`, `hooksCompleted`,
/// `intervalVerdicts`, `primaryReady`) that arrive when the machine is not waiting for them are ignored,
/// so a late answer to a request made before a restart, pause or abort cannot move a rollout.
public enum RolloutEvent: Sendable {
    /// At start and at every config reload: the route's revisions and its `analysis` section (nil: unmanaged).
    /// `primaryEndpoints`: where the config sends the primary traffic (what `rollbackWindow` remembers).
    case configured(primaryRevision: String, canaryRevision: String?, analysis: AnalysisConfig?, primaryEndpoints: [HostPort] = [])
    /// The control thread's timer; all of the machine's timing is driven from these.
    case tick(now: UInt64)
    /// The answer to `.probeCanaryReadiness`.
    case canaryReady(Bool)
    /// The answer to `.runHooks(type)`: all hooks of that type passed, or the first failure's detail.
    case hooksCompleted(HookType, passed: Bool, detail: String)
    /// The answer to `.analyseInterval`: every judge's verdict on the interval that just ended.
    case intervalVerdicts([Verdict])
    /// The answer to `.analyseInterval` when the canary had no request at all in the interval (blue/green
    /// without a mirror, an A/B cohort nobody sent): the judges' verdicts, which then lack data.
    case intervalWithoutCanaryTraffic([Verdict])
    /// The sequential judge rejected the canary, or the canary is dead/unreachable: roll back now.
    case immediateFailure(Verdict)
    /// The answer to `.probePrimary`: the primary is ready and reports this revision (nil: it reports none).
    case primaryReady(revision: String?)
    /// An operator's verb from the admin API or the CLI.
    case command(ManualVerb)
    /// With `pace: evidence`: the step has lasted `minDwell` and the evidence gate passes, so the
    /// interval is analysed now instead of at its end (the verdicts still decide).
    case evidenceSufficient
    /// The answer to `.analyseWatchInterval`: the watch judges' verdicts on the new primary.
    case watchVerdicts([Verdict])
}

/// The manual verbs, as Argo Rollouts has them.
public enum ManualVerb: Sendable, Equatable {
    /// Freeze the timers and the weight; the phase stays.
    case pause
    case resume
    /// Skip the remaining steps: to the `confirm-promotion` gate, or with `force` straight to `Promoting`.
    case promote(force: Bool)
    /// Roll back now.
    case abort
    /// Run a failed revision again from `Initializing`.
    case retry
    /// Within `rollbackWindow` after a promotion: the previous primary back at once, without analysis.
    case undo

    /// The verb as the CLI spells it, for messages.
    public var name: String {
        switch self {
        case .pause: "pause"
        case .resume: "resume"
        case .promote(let force): force ? "promote --force" : "promote"
        case .abort: "abort"
        case .retry: "retry"
        case .undo: "undo"
        }
    }
}
