// A judge's decision with the evidence behind it: what /status, the event log and /metrics show a person.

public struct Verdict: Sendable, Equatable {
    public enum Outcome: String, Sendable, Equatable {
        case pass
        case fail
        /// Too few requests to judge: the weight is held and the interval does not count as failed.
        case noData = "no-data"
        /// Not yet enough evidence that the canary is good enough to go further: the weight is held
        /// (whatever the other judges say) and the interval is not progress, so `progressDeadline`
        /// ends a rollout that never gathers it.
        case hold
    }

    /// One named figure: a measured value, a threshold, a sample size, a statistic.
    public struct Evidence: Sendable, Equatable {
        public var name: String
        public var value: Double
        public init(_ name: String, _ value: Double) { self.name = name; self.value = value }
    }

    /// Which judge: "request-success-rate", "request-duration", "comparison-errors", "comparison-latency",
    /// "sequential", "dead-canary", "evidence".
    public var judge: String
    public var outcome: Outcome
    /// One human sentence, e.g. "success rate 97.1% < 99% (n=412)".
    public var summary: String
    public var evidence: [Evidence]

    public init(judge: String, outcome: Outcome, summary: String, evidence: [Evidence]) {
        self.judge = judge
        self.outcome = outcome
        self.summary = summary
        self.evidence = evidence
    }
}
