// A judge's decision with the evidence behind it: what /status, the event log and /metrics show a person.

public struct Verdict: Sendable, Equatable {
    public enum Outcome: String, Sendable, Equatable {
        case pass
        case fail
        /// Too few requests to judge: the weight is held and the interval does not count as failed.
        case noData = "no-data"
    }

    /// One named figure: a measured value, a threshold, a sample size, a statistic.
    public struct Evidence: Sendable, Equatable {
        public var name: String
        public var value: Double
        public init(_ name: String, _ value: Double) { self.name = name; self.value = value }
    }

    /// Which judge: "request-success-rate", "request-duration", "comparison-errors", "comparison-latency", "sequential".
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
