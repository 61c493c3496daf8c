// Passive outlier detection of one endpoint on one loop: consecutive gateway failures eject it for a growing time.

/// The route's `outlierDetection` in the loop's units (nanoseconds of the monotonic clock).
struct OutlierPolicy: Sendable, Equatable {
    /// Consecutive gateway failures that eject the endpoint; 0: never ejected.
    var consecutiveFailures: Int
    /// An ejection lasts this × the number of times the endpoint was ejected recently, at most `maxEjection`.
    var baseEjection: UInt64
    var maxEjection: UInt64
    /// The largest share (percent) of an arm's endpoints kept out of rotation at once (`ArmRuntime.pick`).
    var maxEjectedPercent: Int

    static let `default` = OutlierPolicy(
        consecutiveFailures: 5, baseEjection: 10_000_000_000, maxEjection: 300_000_000_000,
        maxEjectedPercent: 50)
}

/// What an outcome did to the endpoint, for the caller to count (ejections are a metric).
enum OutlierAction: Equatable {
    case none
    /// The endpoint is out of rotation until `until` (the loop's clock).
    case ejected(until: UInt64)
}

/// One endpoint's failure streak and ejection history. Pure: the caller passes the time and applies
/// the action; one loop owns each value (no sharing, no locks).
///
/// Gateway failures count (the endpoint could not be reached or did not answer properly: connect
/// refused, failed or timed out, TLS handshake failed, reset, closed before a response, an invalid
/// response, a response timeout, and a 502, 503 or 504 from it); any other response ends the streak.
/// A 500 is the application's answer to that request, not a sign the endpoint is gone, so it does
/// not eject (Envoy's consecutive_gateway_failure, not its consecutive_5xx).
struct OutlierState: Equatable {
    private(set) var consecutiveFailures = 0
    /// Ejections counted for the back-off; one is forgiven for every `baseEjection` spent in rotation.
    private(set) var ejections = 0
    private(set) var ejectedUntil: UInt64 = 0

    func isEjected(now: UInt64) -> Bool { now < ejectedUntil }

    /// A gateway failure of the endpoint at `now`.
    mutating func recordFailure(now: UInt64, policy: OutlierPolicy) -> OutlierAction {
        guard policy.consecutiveFailures > 0 else { return .none }
        // Failures of requests that were already in flight, or sent while the arm had to use the
        // endpoint anyway (every endpoint out: see `ArmRuntime.pick`), do not lengthen an ejection.
        if isEjected(now: now) { return .none }
        consecutiveFailures += 1
        guard consecutiveFailures >= policy.consecutiveFailures else { return .none }
        consecutiveFailures = 0
        if ejections > 0, ejectedUntil > 0, policy.baseEjection > 0 {
            let quiet = (now &- ejectedUntil) / policy.baseEjection
            ejections = quiet >= UInt64(ejections) ? 0 : ejections - Int(quiet)
        }
        ejections += 1
        let (product, overflow) = policy.baseEjection.multipliedReportingOverflow(by: UInt64(ejections))
        let duration = overflow ? policy.maxEjection : min(product, policy.maxEjection)
        ejectedUntil = now &+ duration
        return .ejected(until: ejectedUntil)
    }

    /// A response that is not a gateway failure: the streak ends.
    mutating func recordSuccess() {
        consecutiveFailures = 0
    }

    /// Whether `status` from the endpoint is a gateway failure.
    static func isGatewayFailure(status: Int) -> Bool { status == 502 || status == 503 || status == 504 }
}
