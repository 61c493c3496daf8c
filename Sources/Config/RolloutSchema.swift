// The rollout part of the configuration: analysis (Flagger's field names), judges, hooks, readiness, state file.

/// Where the rollout state is persisted so a restarted proxy resumes at the same phase and weight.
/// `state: { path: FILE }`; a relative path is relative to the proxy's working directory.
public struct StateConfig: Sendable, Equatable {
    public var path: String
    public init(path: String) { self.path = path }
}

/// How the canary's readiness is checked before it gets traffic (step 2 of the rollout, README's "The process").
public enum ReadinessProbe: Sendable, Equatable {
    /// `GET path` on every canary endpoint must answer 2xx.
    case http(path: String)
    /// A TCP connect to every canary endpoint must succeed.
    case tcp
}

/// `readiness: { http: /healthz, interval: 1s, timeout: 1s }` or `{ tcp: true }`; TCP by default.
public struct ReadinessConfig: Sendable, Equatable {
    public var probe: ReadinessProbe = .tcp
    public var interval: Duration = .seconds(1)
    public var timeout: Duration = .seconds(1)
    /// With `http`: the response header in which an endpoint names the revision it runs (`X-Revision`).
    /// After a `promote` hook the rollout then waits until every primary endpoint reports the canary's
    /// revision; nil: a ready primary is taken to run it.
    public var revisionHeader: String?
    public init() {}
}

/// One Flagger metric check: `request-success-rate` (percent) or `request-duration` (milliseconds).
/// Written `{ name, thresholdRange: { min, max }, quantile }`; the range needs min, max or both
/// (a success rate is in 0...100, a duration greater than 0). The check passes when the value is
/// within the range. The same check twice (same name, and quantile for durations) is an error.
public struct MetricCheckConfig: Sendable, Equatable {
    public enum Name: String, Sendable, Equatable { case requestSuccessRate = "request-success-rate", requestDuration = "request-duration" }
    public var name: Name
    public var min: Double?
    public var max: Double?
    /// For request-duration: which quantile, 0 < q < 1 (default 0.99). Refused for request-success-rate.
    public var quantile: Double = 0.99
    public init(name: Name, min: Double? = nil, max: Double? = nil) { self.name = name; self.min = min; self.max = max }
}

/// Judge 2: the canary compared with the primary over the same interval (docs/JUDGES.md).
public struct ComparisonConfig: Sendable, Equatable {
    public var enabled = true
    /// This judge's share of a rollout's false-rollback budget, in (0, 0.5]: the i-th interval is
    /// tested at alpha / (i (i + 1)), so all of a rollout's intervals together spend at most alpha.
    public var alpha = 0.01
    /// Allowed canary error-rate increase over the primary, in percentage points (0...100).
    /// Also the evidence gate's margin: 1 point (Flagger's usual "success rate ≥ 99%"), because at 0.5 a
    /// service of 100 req/s needed longer than the default progressDeadline for its first step's evidence
    /// (judge-sim: with 1 point 98% of its healthy rollouts are promoted, in 11.5 min median).
    public var allowedErrorRateIncrease = 1.0
    /// Allowed P(canary slower than primary) (CLES); 0.5 means no difference. In [0.5, 1).
    public var allowedSlowdown = 0.6
    /// Allowed canary latency relative to the primary's, at least 1: a shift below (ratio − 1) × the
    /// primary's median never fails the latency check.
    public var maxLatencyRatio = 1.2
    /// A latency shift smaller than this never fails the check, and the sequential judge's "slow"
    /// starts this far above the primary's p99.
    /// Measured on loopback: after each weight step the canary's pool opens new upstream connections,
    /// which lifts its tail by 1–3 ms with identical backends; 5 ms keeps that from rolling back.
    public var minLatencyIncrease: Duration = .milliseconds(5)
    public init() {}
}

/// Judge 3: the sequential, anytime-valid test between intervals (docs/JUDGES.md, section 3).
public struct SequentialConfig: Sendable, Equatable {
    public enum SlowThreshold: Sendable, Equatable {
        /// The primary's p99 over the previous interval.
        case primaryP99
        /// A fixed SLO.
        case fixed(Duration)
    }
    public var enabled = true
    /// The false-rollback rate the test guarantees, in (0, 0.5].
    public var alpha = 0.01
    /// Written `primaryP99` or a duration (`250ms`).
    public var slowThreshold = SlowThreshold.primaryP99
    public init() {}
}

/// Flagger's webhook types; `type:` takes the raw values (`pre-rollout`, `confirm-promotion`, …).
public enum HookType: String, Sendable, Equatable, CaseIterable {
    case confirmRollout = "confirm-rollout"
    case preRollout = "pre-rollout"
    case rollout
    case confirmTrafficIncrease = "confirm-traffic-increase"
    case confirmPromotion = "confirm-promotion"
    case promote
    case postRollout = "post-rollout"
    case rollback
    case event
}

/// One of `analysis.webhooks`: `{ name, type, url | command, timeout, retries, metadata }`.
/// Exactly one of `url` (an `http://` or `https://` URL) and `command` (a non-empty argv list).
/// Names are unique within a route.
public struct HookConfig: Sendable, Equatable {
    public enum Action: Sendable, Equatable {
        /// POST JSON `{name, phase, revision, weight, metadata}` with `headers`; 2xx passes. An https
        /// server's certificate must chain to `caFile` (nil: the system's CAs) and cover the URL's host.
        case webhook(url: String, headers: [WebhookHeader] = [], caFile: String? = nil)
        /// posix_spawn of argv; exit status 0 passes. Rollout facts are passed as environment variables.
        case exec(command: [String])
    }
    public var name: String
    public var type: HookType
    public var action: Action
    public var timeout: Duration = .seconds(10)
    /// Further attempts after a failed one, 0...10.
    public var retries = 0
    /// Free-form facts for the hook: a webhook gets them as its payload's `metadata`.
    public var metadata: [String: String] = [:]
    /// Exec hooks (`env:`): variables set for the command, over those it inherits (`passEnvironment`).
    public var environment: [String: String] = [:]
    /// Exec hooks (`passEnv:`): the names of the proxy's own variables the command inherits; no others do.
    public var passEnvironment = HookConfig.defaultPassEnvironment
    /// PATH only: what a command needs to find programs, nothing that could carry a secret.
    public static let defaultPassEnvironment = ["PATH"]
    public init(name: String, type: HookType, action: Action) { self.name = name; self.type = type; self.action = action }
}

/// A route's `analysis` section: present means the route's weight is managed by a rollout.
/// Every field is optional and has Flagger's name; bounds are checked when decoding.
public struct AnalysisConfig: Sendable, Equatable {
    /// Time between checks (and weight steps); at least 100ms.
    public var interval: Duration = .seconds(60)
    /// Failed checks before rollback, at least 1.
    public var threshold = 5
    /// Weight added per step, 1...100, at most `maxWeight`. Cannot be written with `stepWeights`.
    public var stepWeight = 10
    /// When non-empty, used instead of `stepWeight` (Flagger's `stepWeights`): strictly
    /// increasing, each 1...100 and at most `maxWeight`.
    public var stepWeights: [Int] = []
    /// The weight the canary is analysed at before promotion, 1...100. With `stepWeights` and no
    /// `maxWeight` written, it is the last step.
    public var maxWeight = 50
    /// Promotion steps (Flagger's `stepWeightPromotion`), 1...100; nil: switch at once.
    public var stepWeightPromotion: Int?
    /// Gradual rollback, 0...100 percent points: a rollback decided by failed checks steps the canary's
    /// weight down by this much per interval instead of to 0 at once. 0 (the default): at once.
    public var stepWeightRollback = 0
    /// A/B or blue/green (Flagger's `iterations`), 1...1000: the canary stays at weight 0, held live so that
    /// its cohort (`canary.match`: A/B) or the mirrored copies (blue/green) reach it, for this many passing
    /// intervals; then the promotion switches all traffic at once, and a rollback is one switch back.
    /// Cannot be written with the weight keys (`stepWeight`, `stepWeights`, `maxWeight`, `stepWeightPromotion`,
    /// `stepWeightRollback`). nil: progressive canary steps.
    public var iterations: Int?
    /// Whether this analysis runs iterations (A/B, blue/green) rather than weight steps.
    public var usesIterations: Bool { (iterations ?? 0) > 0 }
    /// Canary requests an interval needs for its checks to count, at least 1.
    public var minRequests = 10
    /// Routes with `sessionAffinity`: distinct canary clients (seen in the last one to two minutes) a
    /// step needs before it may go further, at least 1 (see docs/JUDGES.md, "Sticky sessions").
    public var minClients = 20
    /// How long a rollout may make no progress (not ready, no data, waiting) before it fails.
    public var progressDeadline: Duration = .seconds(600)
    /// Promote without running the checks.
    public var skipAnalysis = false
    /// Step up and promote only on positive evidence: upper confidence bounds on the canary's excess
    /// of every bad class (5xx, 4xx, abort, slow) over the step below `comparison.allowedErrorRateIncrease`.
    /// Off: an interval without a failed check passes, as in Flagger.
    public var requireEvidence = true
    /// What moves the weight: `interval` (every `interval`, as in Flagger) or `evidence` (as soon as
    /// the evidence gate passes, checked every `minDwell`; `interval` still bounds how long a step
    /// waits between full analyses).
    public var pace = Pace.interval
    /// With `pace: evidence`, the least time a step lasts and the spacing of its looks (at least 100ms).
    public var minDwell: Duration = .seconds(10)
    /// After a promotion succeeds, how long `undo` can switch the route back to the previous primary; 0: off.
    public var rollbackWindow: Duration = .zero
    /// After a promotion succeeds, how long the new primary is judged against the old one's pre-promotion
    /// measurements (a failure undoes it while `rollbackWindow` is open); 0: off.
    public var watch: Duration = .zero

    public enum Pace: String, Sendable, CaseIterable {
        case interval
        case evidence
    }
    public var metrics: [MetricCheckConfig] = []
    public var comparison = ComparisonConfig()
    public var sequential = SequentialConfig()
    public var webhooks: [HookConfig] = []
    public var readiness = ReadinessConfig()
    /// The route's `mirror` threshold for the mismatch judge (not written here: set from `routes[].mirror`).
    public var mirror: MirrorJudgeConfig?
    public init() {}
}
