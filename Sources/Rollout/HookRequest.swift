// What the controller asks of one hook (HookRequest) and what it gets back (HookResult).
import Config

/// One hook to run, with the rollout facts it is told about.
public struct HookRequest: Sendable {
    /// The route whose rollout runs the hook.
    public var route: String
    public var hook: HookConfig
    /// The rollout phase's name (Flagger's: "Progressing", "Promoting", …).
    public var phase: String
    /// The canary revision under analysis.
    public var revision: String
    /// The canary's current weight, percent.
    public var weight: Int
    /// Extra environment variables for an exec hook (over its `env:`, under the `CANARYGATE_*` facts);
    /// webhooks ignore them.
    public var environment: [String: String]
    /// An undo's `rollback` hooks: the revision to redeploy on the primary (`revision` is the one undone).
    public var previousRevision: String?
    /// The same for every run of this hook in this rollout (`IdempotencyKey`), so that a receiver can tell a
    /// repeat after a restart or a failover from a new request.
    public var idempotencyKey: String

    public init(
        route: String, hook: HookConfig, phase: String, revision: String, weight: Int,
        environment: [String: String] = [:], previousRevision: String? = nil, idempotencyKey: String
    ) {
        self.route = route
        self.hook = hook
        self.phase = phase
        self.revision = revision
        self.weight = weight
        self.environment = environment
        self.previousRevision = previousRevision
        self.idempotencyKey = idempotencyKey
    }
}

/// The outcome of one hook, after its retries.
public struct HookResult: Sendable, Equatable {
    /// The hook's name.
    public var name: String
    public var type: HookType
    public var passed: Bool
    /// The last attempt's outcome in a few words: "HTTP 200", "HTTP 503: …", "exit 0", "exit 2: <output>",
    /// "timed out after 5s", "connection refused".
    public var detail: String
    /// An exec hook's output when it failed: the last `ExecCall.outputTail` bytes, one line with control
    /// characters escaped, prefixed with how much was dropped; "" otherwise. It goes to the event log,
    /// never into `detail`, which the rollout's message (and so the state file) carries.
    public var output: String
    /// Attempts made: 1 + the retries used.
    public var attempts: Int
    /// From the first attempt's start to the last one's end, backoffs included.
    public var durationNanoseconds: UInt64

    public init(
        name: String, type: HookType, passed: Bool, detail: String, output: String = "", attempts: Int,
        durationNanoseconds: UInt64
    ) {
        self.name = name
        self.type = type
        self.passed = passed
        self.detail = detail
        self.output = output
        self.attempts = attempts
        self.durationNanoseconds = durationNanoseconds
    }
}

/// One attempt's outcome, before retries are decided.
struct HookAttempt: Sendable, Equatable {
    var passed: Bool
    var detail: String
    /// False when trying again cannot help (a malformed URL, an empty command).
    var retryable = true
    /// A failed exec hook's output (`HookResult.output`).
    var output = ""

    static func pass(_ detail: String) -> HookAttempt { HookAttempt(passed: true, detail: detail) }
    static func fail(_ detail: String, retryable: Bool = true, output: String = "") -> HookAttempt {
        HookAttempt(passed: false, detail: detail, retryable: retryable, output: output)
    }
}
