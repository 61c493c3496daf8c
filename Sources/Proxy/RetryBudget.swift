// How many retries an arm may make on one loop: a share of its recent requests plus a small floor.

/// The route's `retries` budget in the loop's units.
struct RetryBudgetPolicy: Sendable, Equatable {
    /// Retries may be at most this percent of the requests of the last `window` seconds …
    var percent: Int
    /// … plus this many per second of the window, so a quiet arm can still retry.
    var minPerSecond: Int

    static let `default` = RetryBudgetPolicy(percent: 20, minPerSecond: 3)
    /// Seconds of history the budget is taken over.
    static let window = 10
}

/// Requests and retries of one arm on one loop over the last `RetryBudgetPolicy.window` seconds, in
/// one-second slots. Pure: the caller passes the time. A ratio over a window, not Envoy's share of the
/// requests in flight: it needs no hook at a request's end (one counter per request start), and a
/// burst of failures cannot turn into a burst of retries larger than the recent traffic justifies.
struct RetryBudget {
    private var requests: [UInt32]
    private var retries: [UInt32]
    /// The second (of the loop's clock) the current slot counts.
    private var second: UInt64 = 0
    private var slot = 0

    init() {
        requests = Array(repeating: 0, count: RetryBudgetPolicy.window)
        retries = Array(repeating: 0, count: RetryBudgetPolicy.window)
    }

    /// A request started on the arm (the hot path: a division, a comparison, an add).
    mutating func requestStarted(now: UInt64) {
        advance(to: now)
        requests[slot] &+= 1
    }

    /// Takes one retry from the budget if there is one left.
    mutating func tryRetry(now: UInt64, policy: RetryBudgetPolicy) -> Bool {
        advance(to: now)
        var recentRequests: UInt64 = 0, recentRetries: UInt64 = 0
        for i in 0..<requests.count {
            recentRequests += UInt64(requests[i])
            recentRetries += UInt64(retries[i])
        }
        let allowed = recentRequests * UInt64(policy.percent) / 100 + UInt64(policy.minPerSecond * RetryBudgetPolicy.window)
        guard recentRetries < allowed else { return false }
        retries[slot] &+= 1
        return true
    }

    /// Moves to the slot of `now`, emptying the slots of the seconds that passed.
    private mutating func advance(to now: UInt64) {
        let current = now / 1_000_000_000
        guard current != second else { return }
        let passed = current &- second
        second = current
        let n = requests.count
        for _ in 0..<Int(min(passed, UInt64(n))) {
            slot = slot + 1 == n ? 0 : slot + 1
            requests[slot] = 0
            retries[slot] = 0
        }
    }
}
