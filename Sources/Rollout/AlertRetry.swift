// When a notification is sent again: the retry and backoff schedule of one message, as a small state machine.

/// One message's attempts. The sender tells it each attempt's outcome and does what it answers: done (sent),
/// wait and try again, or give up (counted failed and logged). A receiver that answers 2xx has it; a transport
/// failure (refused, reset, timed out), 408, 429 or 5xx is tried again after 1 s, 2 s, 4 s, … (doubling, at
/// most 60 s) until `retries` more attempts have failed. A failure that another attempt cannot mend (any other
/// status, a CA file that cannot be loaded; `AlertPost.outcome(status:)`) gives up at once.
package struct AlertRetry: Equatable, Sendable {
    package enum Outcome: Equatable, Sendable {
        case delivered
        case failed(retryable: Bool)
    }

    package enum Next: Equatable, Sendable {
        case sent
        case retry(after: Duration)
        case giveUp
    }

    /// The wait before the first retry; each later one doubles it.
    package static let firstBackoff = Duration.seconds(1)
    package static let maxBackoff = Duration.seconds(60)

    package let retries: Int
    /// Attempts whose outcome was recorded.
    package private(set) var attempts = 0

    package init(retries: Int) { self.retries = max(0, retries) }

    package mutating func record(_ outcome: Outcome) -> Next {
        attempts += 1
        switch outcome {
        case .delivered: return .sent
        case .failed(let retryable):
            guard retryable, attempts <= retries else { return .giveUp }
            return .retry(after: Self.backoff(beforeRetry: attempts))
        }
    }

    /// The wait before retry `n` (1-based): 1 s × 2^(n−1), capped.
    package static func backoff(beforeRetry n: Int) -> Duration {
        let doublings = min(max(n - 1, 0), 6)
        return min(firstBackoff * (1 << doublings), maxBackoff)
    }
}
