// What a rollout asks the controller to do; the controller performs them in order.
import Config

public enum RolloutAction: Sendable, Equatable {
    /// Give the canary this share of the route's traffic (percent); the rest goes to the primary.
    case setWeight(Int)
    /// Keep the canary live at weight 0 (iterations: its cohort or mirrored copies reach it), or stop.
    /// Meaningful only at weight 0; any weight change ends it (`.setCanaryLive(false)` follows).
    case setCanaryLive(Bool)
    /// Run every hook of this type and answer `.hooksCompleted` (at once, passed, when there are none).
    /// The machine only asks for types the route's `analysis.webhooks` has.
    case runHooks(HookType)
    /// Check the canary's endpoints (active health check); answer `.canaryReady`.
    case probeCanaryReadiness
    /// Start fresh interval and sequential windows for both arms now.
    case startAnalysisWindow
    /// Judge the interval window started last; answer `.intervalVerdicts`, then start the next window.
    case analyseInterval
    /// Check that the primary is ready (and, if it reports one, runs this revision); answer `.primaryReady`.
    case probePrimary(expectedRevision: String)
    /// Close the canary arm's pooled connections: it gets no traffic any more.
    case drainCanary
    /// An undo: send the route's primary traffic to `arm` instead of the configured primary (rebuild the routes).
    case overridePrimary(PrimaryOverride)
    /// The watch after a promotion begins: start a window on the primary arm now.
    case startWatchWindow
    /// Judge the primary's watch window (the `index`-th, 1-based) against its pre-promotion baseline; answer
    /// `.watchVerdicts`, then start the next window.
    case analyseWatchInterval(index: Int)
    /// Write this state to the state file. Exactly one per `handle` call that changed the state, always last.
    case persist(RolloutState)
    /// Append to the event log and run the `event` hooks.
    case emit(RolloutEventLog)
}

/// One entry of the rollout's event log: the phase and weight at the time, why, and how much it matters.
public struct RolloutEventLog: Sendable, Equatable {
    public var phase: Phase
    public var message: String
    public var weight: Int
    public var severity: EventSeverity

    public init(phase: Phase, message: String, weight: Int, severity: EventSeverity = .info) {
        self.phase = phase
        self.message = message
        self.weight = weight
        self.severity = severity
    }
}
