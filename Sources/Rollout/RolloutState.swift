// A route's rollout as persisted: everything a proxy killed with -9 needs to resume at the same phase and weight.
import Analysis

public struct RolloutState: Sendable, Equatable, Codable {
    public var route: String
    public var phase: Phase
    /// The canary's share of the route's traffic, percent.
    public var canaryWeight: Int
    /// Failed checks of the current rollout; `threshold` of them roll it back.
    public var failedChecks: Int
    /// Passing intervals analysed at `maxWeight` (canary steps) or in iterations mode (A/B, blue/green).
    public var completedIterations: Int
    /// How many weight steps the rollout has taken since its first one (0 on the first step).
    public var stepIndex: Int
    /// The revision being rolled out, or last rolled out.
    public var canaryRevision: String?
    /// What the config says the primary runs, or what it reported after a `promote` hook.
    public var primaryRevision: String
    /// The revision whose rollout last ended (promoted or rolled back): configuring it again changes nothing.
    public var lastAnalysedRevision: String?
    /// An operator paused the rollout: no timers run and the weight stays.
    public var paused: Bool
    /// Promoting: the `promote` hook passed, so a restart waits for the primary instead of running it again.
    public var promoteHookPassed: Bool
    /// Virtual-clock nanoseconds; a restored state is re-based to the restarted process's clock.
    public var phaseEnteredAt: UInt64
    /// When the rollout last moved (entered a stage, judged an interval); `progressDeadline` counts from here.
    public var lastProgressAt: UInt64
    /// The verdicts of the last judged interval, or the one that rolled the canary back at once.
    public var lastVerdicts: [VerdictRecord]
    /// Why the last transition happened, in one sentence.
    public var message: String
    /// While a rollback steps the weight down (`stepWeightRollback`), why it rolls back; nil otherwise.
    /// Optional so that state files written before it existed still load.
    public var stepDownReason: String?
    /// True while iterations (A/B, blue/green) hold the canary live at weight 0; nil otherwise, never false,
    /// so that states which never used it encode, load and compare as before it existed.
    public var canaryLiveAtZero: Bool?

    public var isCanaryLiveAtZero: Bool { canaryLiveAtZero == true }

    /// From `Promoting` on: the primary as configured when the promotion began, for `rollbackWindow`.
    public var previousPrimary: ArmRecord?
    /// After a promotion: the rollback window and the watch while they run (nil otherwise).
    public var afterPromotion: AfterPromotion?
    /// After an undo to other endpoints: where the route's primary traffic goes instead of the configured primary.
    public var primaryOverride: PrimaryOverride?
    /// The last undo, shown in /status until the next rollout.
    public var lastUndo: UndoRecord?
    /// How many rollouts the route has begun (a new revision or a retry each counts one): part of every hook's
    /// idempotency key (`IdempotencyKey`). Optional so that state files written before it existed still load;
    /// nil counts as 0.
    public var rolloutNumber: Int?

    public init(
        route: String, phase: Phase, canaryWeight: Int = 0, failedChecks: Int = 0, completedIterations: Int = 0,
        stepIndex: Int = 0, canaryRevision: String? = nil, primaryRevision: String, lastAnalysedRevision: String? = nil,
        paused: Bool = false, promoteHookPassed: Bool = false, phaseEnteredAt: UInt64 = 0, lastProgressAt: UInt64 = 0,
        lastVerdicts: [VerdictRecord] = [], message: String = "", stepDownReason: String? = nil, canaryLiveAtZero: Bool? = nil,
        previousPrimary: ArmRecord? = nil, afterPromotion: AfterPromotion? = nil, primaryOverride: PrimaryOverride? = nil,
        lastUndo: UndoRecord? = nil, rolloutNumber: Int? = nil
    ) {
        self.route = route
        self.phase = phase
        self.canaryWeight = canaryWeight
        self.failedChecks = failedChecks
        self.completedIterations = completedIterations
        self.stepIndex = stepIndex
        self.canaryRevision = canaryRevision
        self.primaryRevision = primaryRevision
        self.lastAnalysedRevision = lastAnalysedRevision
        self.paused = paused
        self.promoteHookPassed = promoteHookPassed
        self.phaseEnteredAt = phaseEnteredAt
        self.lastProgressAt = lastProgressAt
        self.lastVerdicts = lastVerdicts
        self.message = message
        self.stepDownReason = stepDownReason
        self.canaryLiveAtZero = canaryLiveAtZero
        self.previousPrimary = previousPrimary
        self.afterPromotion = afterPromotion
        self.primaryOverride = primaryOverride
        self.lastUndo = lastUndo
        self.rolloutNumber = rolloutNumber
    }

    /// A route whose persisted state was lost: held at weight 0 for an operator; the first config names the revision.
    /// `rolloutNumber`: where the lost count resumes — a number no earlier rollout of the route can have had
    /// (the controller passes the Unix time), so that no idempotency key of a later hook repeats an earlier one.
    public static func held(route: String, reason: String, rolloutNumber: Int? = nil) -> RolloutState {
        RolloutState(route: route, phase: .held, primaryRevision: "", message: reason, rolloutNumber: rolloutNumber)
    }

    /// A route that has never rolled anything out: steady (`Succeeded`), all traffic on the primary.
    public static func initial(route: String, primaryRevision: String) -> RolloutState {
        RolloutState(route: route, phase: .succeeded, primaryRevision: primaryRevision, message: "no rollout yet")
    }
}

/// A `Verdict` in a form that can be persisted (Verdict itself stays free of Codable).
public struct VerdictRecord: Sendable, Equatable, Codable {
    /// A named figure. JSON has no NaN or infinities, so those are written as the strings "nan", "inf", "-inf".
    public struct Evidence: Sendable, Equatable, Codable {
        public var name: String
        public var value: Double

        public init(name: String, value: Double) {
            self.name = name
            self.value = value
        }

        private enum CodingKeys: String, CodingKey { case name, value }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decode(String.self, forKey: .name)
            if let number = try? c.decode(Double.self, forKey: .value) {
                value = number
            } else {
                switch try c.decode(String.self, forKey: .value) {
                case "inf": value = .infinity
                case "-inf": value = -.infinity
                default: value = .nan
                }
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(name, forKey: .name)
            if value.isFinite {
                try c.encode(value, forKey: .value)
            } else {
                try c.encode(value.isNaN ? "nan" : (value > 0 ? "inf" : "-inf"), forKey: .value)
            }
        }

        /// NaN equals NaN here: otherwise a state holding one would never equal itself and be persisted on every event.
        public static func == (a: Evidence, b: Evidence) -> Bool {
            a.name == b.name && (a.value == b.value || (a.value.isNaN && b.value.isNaN))
        }
    }

    public var judge: String
    /// `Verdict.Outcome`'s raw value: "pass", "fail" or "no-data".
    public var outcome: String
    public var summary: String
    public var evidence: [Evidence]

    public init(judge: String, outcome: String, summary: String, evidence: [Evidence]) {
        self.judge = judge
        self.outcome = outcome
        self.summary = summary
        self.evidence = evidence
    }

    public init(_ verdict: Verdict) {
        self.init(
            judge: verdict.judge, outcome: verdict.outcome.rawValue, summary: verdict.summary,
            evidence: verdict.evidence.map { Evidence(name: $0.name, value: $0.value) })
    }

    /// Back to a `Verdict`; nil if the outcome is not one this version knows.
    public var verdict: Verdict? {
        Verdict.Outcome(rawValue: outcome).map { outcome in
            Verdict(judge: judge, outcome: outcome, summary: summary, evidence: evidence.map { .init($0.name, $0.value) })
        }
    }
}
