// The rules both exchanges (an HTTP/1.1 connection's, an HTTP/2 stream's) apply the same way: after a failure, on silence, at the end.
import EventLoop
import HTTP
import Telemetry

/// An upstream attempt failed: what the exchange knows, and what the rules make of it. The exchange
/// gathers the facts in its own terms; the decisions are taken here, once for both protocols.
struct AttemptFailure {
    var failure: ProxyFailure
    /// The connection to the endpoint was established (a connect failure is counted where it is seen).
    var connected: Bool
    /// Bytes of the response arrived from the upstream, relayed to the client or not.
    var responseBytesReceived: Bool
    /// Some of the response (at least its head) has gone to the client.
    var clientHasResponse: Bool
    /// The request can be sent again as a whole: no body, and its head still held.
    var replayable: Bool
    var method: HTTPMethod
    var retriesSoFar: Int

    /// Counted against the endpoint's outlier detection here: a failure on an established connection
    /// that is the upstream's (connect failures were counted by the binding or the connect deadline).
    var countsAgainstEndpoint: Bool { connected && failure.kind != nil }

    /// The attempt to put to the retry rule and budget (`ProxyLoop.retryTarget`); nil when the failure
    /// is not an upstream's (nothing to retry).
    var retryCandidate: FailedAttempt? {
        guard let kind = failure.kind else { return nil }
        return FailedAttempt(
            kind: kind, retriesSoFar: retriesSoFar, responseBytesReceived: responseBytesReceived,
            replayable: replayable, method: method)
    }

    /// Without a retry: how the exchange ends.
    var ending: ExchangeEnding { clientHasResponse ? .cut : .answer(failure) }
}

enum ExchangeEnding: Equatable {
    /// Nothing reached the client yet: it gets our response naming the failure, which the arm records
    /// with its status and kind.
    case answer(ProxyFailure)
    /// The client already has part of the response: it is cut (a reset, never an end that could look
    /// complete), and for the arm the truncated response counts as a `cutStatus`.
    case cut

    static let cutStatus = 502
}

/// The upstream's connect or response deadline passed: whose silence it is.
enum UpstreamSilence: Equatable {
    /// The client holds the exchange up — its request body is not arriving, or it is not taking the
    /// response — so the upstream is not at fault: keep waiting under the client's own deadline
    /// (`timeouts.requestBody` windows, the idle timeout), whose expiry ends the exchange as a
    /// downstream abort, never counted against the arm.
    case client
    /// The upstream's: the exchange fails with this failure. A connect timeout is also counted against
    /// the endpoint (`countsAgainstEndpoint`), as no connect failure was seen for it before.
    case upstream(ProxyFailure)

    /// `awaitingClientBody`: the upstream has all the request the client sent so far and the client
    /// has not sent more. `blockedOnClient`: the response waits for the client to take bytes.
    static func judge(connected: Bool, awaitingClientBody: Bool, blockedOnClient: Bool) -> UpstreamSilence {
        guard connected else { return .upstream(.connectTimeout) }
        return awaitingClientBody || blockedOnClient ? .client : .upstream(.responseTimeout)
    }

    var countsAgainstEndpoint: Bool {
        if case .upstream(let failure) = self { return failure.kind == .connectTimeout }
        return false
    }
}

/// Whether an upstream connection may serve another exchange after this one ended cleanly: the
/// response allowed it, the whole request went out (else the upstream would read the rest of the body
/// as the next request), the upstream did not close, nothing unread follows the response, and the
/// response was not delimited by the connection's close.
struct UpstreamReuse {
    var responseKeepAlive: Bool
    var requestComplete: Bool
    var upstreamHungUp: Bool
    var unreadResponseBytes: Bool
    var closeDelimited: Bool

    var allowed: Bool { responseKeepAlive && requestComplete && !upstreamHungUp && !unreadResponseBytes && !closeDelimited }
}

extension ProxyLoop {
    /// The endpoint to try after a connect that failed before anything was sent (the binding saw it,
    /// and counted it against the endpoint), or nil: the same retry rule and budget as `resend`, with
    /// nothing to close or rewind. `attempts` records the retry.
    func retryConnect(
        after failure: ProxyFailure, on pool: UpstreamPool, method: HTTPMethod, attempts: inout AttemptLog, shard: ArmShard?
    ) -> UpstreamPool? {
        let attempt = AttemptFailure(
            failure: failure, connected: false, responseBytesReceived: false, clientHasResponse: false,
            replayable: false, method: method, retriesSoFar: attempts.retries)
        guard let candidate = attempt.retryCandidate, let next = retryTarget(for: candidate, on: pool, shard: shard) else { return nil }
        attempts.retried()
        return next
    }

    /// The endpoint to send a failed attempt to again, within its arm (`retryTarget`: the rule, then the
    /// budget), or nil. On a retry the failed connection is closed, `attempts` records it and the held
    /// request head is rewound to go out again whole.
    func resend(
        _ attempt: AttemptFailure, failed up: UpstreamConnection, head: ByteBuffer?, headLength: Int,
        attempts: inout AttemptLog, shard: ArmShard?
    ) -> UpstreamPool? {
        guard let candidate = attempt.retryCandidate, let head,
            let next = retryTarget(for: candidate, on: up.pool, shard: shard)
        else { return nil }
        attempts.retried()
        up.close()
        // Nothing of the request went out (a connect failure), or all of it did (a body-less request).
        head.rewind(to: headLength)
        return next
    }

    /// Ends an exchange's hold on `up`: back to its pool when `reusable` and the pool keeps it (armed
    /// with the upstream idle timeout), else closed. The one place an exchange gives an upstream back.
    @inline(__always)
    func release(_ up: UpstreamConnection, reusable: Bool) {
        guard reusable else {
            up.close()
            return
        }
        up.owner = nil
        up.completedExchanges += 1
        up.readable = false
        if up.pool.keep(up) {
            upstreamIdleDeadlines.arm(up, now: loop.now)
        } else {
            up.close()
        }
    }
}
