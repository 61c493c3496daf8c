// The classes a request can end in that count against its arm, and one tick's counts of each.

/// How a request ended, when it ended badly. Every request falls in exactly one class, or in none
/// (a 2xx/3xx answered in time). Under H0 — the canary is as good as the primary — a request of any
/// class is as likely to have been sent to either arm as any other request, so each class falls on
/// the canary with the canary's share of the traffic. That is the one assumption the sequential
/// judge tests, class by class (docs/JUDGES.md).
public enum OutcomeClass: Int, CaseIterable, Sendable, Codable {
    /// 5xx, including the proxy's own 502/503/504 for an arm that failed, and failing gRPC.
    case serverError
    /// 4xx: a canary can break routing, authentication or validation as surely as it can crash.
    case clientError
    /// The client went away before the response ended: a canary that hangs makes its clients give up.
    case abort
    /// Answered, but later than the slow threshold (the primary's recent p99 plus the minimum
    /// latency increase a person cares about, or a configured SLO).
    case slow

    /// The name in verdicts, /status and the `class` label of /metrics.
    public var label: String {
        switch self {
        case .serverError: "5xx"
        case .clientError: "4xx"
        case .abort: "abort"
        case .slow: "slow"
        }
    }
}

/// One arm's requests and bad outcomes over one tick (or any window), by class. Fixed fields and no
/// collections, so the simulations feed millions of ticks without allocating.
public struct OutcomeCounts: Sendable, Equatable, Codable {
    /// Responses sent (every status).
    public var responses: UInt64
    /// Requests abandoned by their clients before the response ended (not in `responses`).
    public var aborts: UInt64
    public var serverErrors: UInt64
    public var clientErrors: UInt64
    /// Responses slower than the slow threshold in force, and requests found in flight past it
    /// (`ArmWindow.outcomes`), at most `slowPopulation`.
    public var slow: UInt64
    /// The requests the slow class is counted among: the responses, plus the requests marked slow while
    /// in flight, less the marked ones answered (counted at their mark already). `responses` by default.
    public var slowPopulation: UInt64

    public init(
        responses: UInt64 = 0, aborts: UInt64 = 0, serverErrors: UInt64 = 0, clientErrors: UInt64 = 0, slow: UInt64 = 0,
        slowPopulation: UInt64? = nil
    ) {
        self.responses = responses
        self.aborts = aborts
        self.serverErrors = min(serverErrors, responses)
        self.clientErrors = min(clientErrors, responses - self.serverErrors)
        self.slowPopulation = slowPopulation ?? responses
        self.slow = min(slow, self.slowPopulation)
    }

    private enum CodingKeys: String, CodingKey { case responses, aborts, serverErrors, clientErrors, slow, slowPopulation }

    /// State files written before `slowPopulation` existed decode with it equal to `responses`.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            responses: try c.decode(UInt64.self, forKey: .responses), aborts: try c.decode(UInt64.self, forKey: .aborts),
            serverErrors: try c.decode(UInt64.self, forKey: .serverErrors), clientErrors: try c.decode(UInt64.self, forKey: .clientErrors),
            slow: try c.decode(UInt64.self, forKey: .slow), slowPopulation: try c.decodeIfPresent(UInt64.self, forKey: .slowPopulation))
    }

    /// Requests that ended, answered or abandoned.
    public var requests: UInt64 { responses + aborts }

    /// The count of one class.
    public subscript(_ c: OutcomeClass) -> UInt64 {
        switch c {
        case .serverError: serverErrors
        case .clientError: clientErrors
        case .abort: aborts
        case .slow: slow
        }
    }

    /// The requests a class is counted among: slowness is a property of answered requests only (and of
    /// requests found in flight past the threshold, counted as answered late at that moment).
    public func population(_ c: OutcomeClass) -> UInt64 { c == .slow ? slowPopulation : requests }

    public static func + (a: OutcomeCounts, b: OutcomeCounts) -> OutcomeCounts {
        OutcomeCounts(
            responses: a.responses + b.responses, aborts: a.aborts + b.aborts, serverErrors: a.serverErrors + b.serverErrors,
            clientErrors: a.clientErrors + b.clientErrors, slow: a.slow + b.slow,
            slowPopulation: a.slowPopulation + b.slowPopulation)
    }
}
