// The one-sided two-proportion z-test (pooled variance): is the canary's error rate above the primary's?

/// The pooled two-proportion z statistic of JUDGES.md §2.
///
/// Canary `x_c` failures of `n_c`, primary `x_p` of `n_p`:
///
///     p̂ = (x_c + x_p) / (n_c + n_p)
///     z = (x_c/n_c − x_p/n_p) / sqrt(p̂ (1 − p̂) (1/n_c + 1/n_p))
///
/// Under H0 (equal failure probabilities) z is asymptotically N(0, 1); the one-sided p-value is
/// 1 − Φ(z). This is the score test for a difference of binomial proportions (Agresti,
/// *Categorical Data Analysis*, 3rd ed., §3.1.3; the textbook "two-proportion z-test", identical to
/// statsmodels' `proportions_ztest` with its default pooled variance). The unit tests compare z and
/// p with the same formula evaluated by numpy/scipy.
///
/// Degenerate pools: p̂ = 0 (no failure on either arm) or p̂ = 1 (every request failed on both)
/// leave the variance 0 and the difference 0: `z` is reported as 0 (p = 0.5), "no evidence of a
/// difference". `ComparisonJudge` documents what it decides in those cases.
public struct TwoProportionTest: Sendable, Equatable {
    public var canaryFailures: UInt64
    public var canaryRequests: UInt64
    public var primaryFailures: UInt64
    public var primaryRequests: UInt64

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
    /// The pooled rate p̂.
    public var pooledRate: Double {
        Double(canaryFailures + primaryFailures) / Double(canaryRequests + primaryRequests)
    }

    /// The z statistic (0 when the pooled variance is 0).
    public var z: Double {
        let p = pooledRate
        let variance = p * (1 - p) * (1 / Double(canaryRequests) + 1 / Double(primaryRequests))
        guard variance > 0 else { return 0 }
        return difference / variance.squareRoot()
    }

    /// The one-sided p-value P(Z ≥ z) for H1: canary rate > primary rate.
    public var pValue: Double { Normal.survival(z) }
}
