// Fisher's exact one-sided test of two proportions: is the canary's error rate above the primary's?

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Fisher's exact test (one-sided) for the 2×2 table of canary and primary failures.
///
/// Conditioning on both arms' request counts and on the total failures K = x_c + x_p, the canary's
/// failures follow the hypergeometric law under H0 (equal failure probabilities):
///
///     P(X = k) = C(K, k) · C(N − K, n_c − k) / C(N, n_c),   N = n_c + n_p
///     p = P(X ≥ x_c)
///
/// Exact at every sample size, and conservative (P(p ≤ α) ≤ α under H0): the normal approximation
/// it replaces rejected 9.3 % of healthy intervals at a nominal 5 % with 20 canary requests. Terms are
/// computed as logarithms with `lgamma` and summed from the observed count upwards until they stop
/// mattering (below 1e-17 of the sum, past the mode), so a table of millions of requests costs a few
/// hundred terms.
public struct FisherExactTest: Sendable, Equatable {
    public let canaryFailures: UInt64
    public let canaryRequests: UInt64
    public let primaryFailures: UInt64
    public let primaryRequests: UInt64

    /// Both `requests` must be positive; failures are capped at the requests.
    public init(canaryFailures: UInt64, canaryRequests: UInt64, primaryFailures: UInt64, primaryRequests: UInt64) {
        precondition(canaryRequests > 0 && primaryRequests > 0, "a two-proportion test needs requests on both arms")
        self.canaryFailures = min(canaryFailures, canaryRequests)
        self.canaryRequests = canaryRequests
        self.primaryFailures = min(primaryFailures, primaryRequests)
        self.primaryRequests = primaryRequests
    }

    /// x_c / n_c.
    public var canaryRate: Double { Double(canaryFailures) / Double(canaryRequests) }
    /// x_p / n_p.
    public var primaryRate: Double { Double(primaryFailures) / Double(primaryRequests) }
    /// x_c/n_c − x_p/n_p, as a proportion (×100 for percentage points).
    public var difference: Double { canaryRate - primaryRate }

    /// The one-sided p-value P(X ≥ x_c) under H0.
    public var pValue: Double {
        let n = Double(canaryRequests + primaryRequests), k = Double(canaryFailures + primaryFailures)
        let draws = Double(canaryRequests)
        let highest = min(canaryFailures + primaryFailures, canaryRequests)
        let mode = ((draws + 1) * (k + 1) / (n + 2)).rounded(.down)
        func logChoose(_ a: Double, _ b: Double) -> Double { lgamma(a + 1) - lgamma(b + 1) - lgamma(a - b + 1) }
        let logTotal = logChoose(n, draws)
        var sum = 0.0
        var x = canaryFailures
        while x <= highest {
            let value = Double(x)
            let term = exp(logChoose(k, value) + logChoose(n - k, draws - value) - logTotal)
            sum += term
            if value > mode && term < sum * 1e-17 { break }
            x += 1
        }
        return min(1, sum)
    }
}
