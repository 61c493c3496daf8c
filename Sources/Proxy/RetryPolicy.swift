// When a failed attempt may be sent again, and where: the rule is pure, the routing lives in ProxyLoop+Retry.swift.
import HTTP
import Telemetry

/// The route's `retries` in the loop's units.
struct RetryPolicy: Sendable, Equatable {
    /// Retries per request after its first attempt (0: none, not even after a connect failure).
    var attempts: Int
    var budget: RetryBudgetPolicy

    static let `default` = RetryPolicy(attempts: 1, budget: .default)
}

/// What the exchange knows about the attempt that just failed.
struct FailedAttempt {
    var kind: FailureKind
    /// Retries already made for this request.
    var retriesSoFar: Int
    /// Bytes of the response arrived from the upstream (relayed or not).
    var responseBytesReceived: Bool
    /// The request can be sent again as a whole: no body, and its head still held.
    var replayable: Bool
    var method: HTTPMethod

    /// Nothing of the request reached the upstream: it cannot have acted on it.
    var failedBeforeSending: Bool {
        switch kind {
        case .connectRefused, .connectFailed, .connectTimeout, .tlsHandshakeFailed: return true
        default: return false
        }
    }

    /// Whether another attempt is safe and allowed, before the budget is asked.
    ///
    /// - Never once a response byte arrived: part of an answer may already be the client's.
    /// - A connect failure (nothing was sent): any request.
    /// - After the request was sent, only a reset or a close before any response, only for a request
    ///   without a body whose method is idempotent (RFC 9110 §9.2.2: GET, HEAD, OPTIONS, TRACE, and
    ///   PUT and DELETE, which without a body repeat to the same effect). A body is streamed to the
    ///   upstream as it arrives and not kept, so it could not be sent twice. A response timeout is
    ///   not retried: the upstream may still be working on the request, and a retry would double
    ///   the load on an upstream that is already slow.
    func mayRetry(policy: RetryPolicy) -> Bool {
        guard retriesSoFar < policy.attempts, !responseBytesReceived, replayable || failedBeforeSending else { return false }
        if failedBeforeSending { return true }
        switch kind {
        case .upstreamReset, .upstreamClosed: return method.isIdempotent
        default: return false
        }
    }
}

/// A request's retries so far, kept by its exchange (reset when the next request starts).
struct AttemptLog {
    private(set) var retries = 0
    /// An attempt failed and was sent again: the request counts as failed for the judges whatever its
    /// client is answered (`ArmShard.recordOutcome`).
    private(set) var hidFailure = false

    mutating func retried() {
        retries += 1
        hidFailure = true
    }
}
