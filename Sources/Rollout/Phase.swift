// The phases of a rollout, with Flagger's names so its users read /status without a glossary.

/// Where a route's rollout stands (README, "The process"). Raw values are Flagger's `status.phase` strings,
/// plus `Promoted`: the canary holds 100% and the primary does not yet run its revision.
public enum Phase: String, Sendable, CaseIterable, Codable {
    /// The canary must pass readiness before it gets any traffic; `confirm-rollout` is asked next.
    case initializing = "Initializing"
    /// Ready and confirmed: weight 0 while the `pre-rollout` hooks run.
    case initialized = "Initialized"
    /// A `confirm-rollout` gate holds the rollout before any traffic (re-asked every interval).
    case waiting = "Waiting"
    /// The weight is being stepped up, one analysed interval at a time.
    case progressing = "Progressing"
    /// Analysis is done; a `confirm-promotion` gate holds it (analysis keeps running meanwhile).
    case waitingPromotion = "WaitingPromotion"
    /// The `promote` hook, the wait for the primary, or the weight steps of `stepWeightPromotion`.
    case promoting = "Promoting"
    /// No `promote` hook: the canary holds 100% until a reload makes the primary its revision.
    case promoted = "Promoted"
    /// All traffic back to the (new) primary, `post-rollout` hooks, the canary's pool drained.
    case finalising = "Finalising"
    /// Steady: the last rollout promoted its revision, or the route has nothing to roll out.
    case succeeded = "Succeeded"
    /// Steady: the last rollout was rolled back; `retry` runs that revision again.
    case failed = "Failed"
    /// The state file could not be read, so where this revision's rollout stood (perhaps rolled back) is
    /// unknown: weight 0, nothing runs, until an operator retries, aborts or force-promotes it (or a new
    /// revision is configured). `message` says why.
    case held = "Held"

    /// A rollout is under way: the weight belongs to the machine and a reload's new revision restarts it.
    public var isInProgress: Bool { !isSteady }

    /// Waiting for the next revision (or, held, for an operator).
    public var isSteady: Bool { self == .succeeded || self == .failed || self == .held }
}
