// The standard normal distribution: CDF, upper tail and quantile, for the z-tests' thresholds and p-values.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The standard normal distribution N(0, 1).
///
/// - `cdf(x)` = Φ(x) = ½·erfc(−x/√2) and `survival(x)` = 1 − Φ(x) = ½·erfc(x/√2), both through the C
///   library's `erfc`, which is accurate to a few ulps *relative* over the whole range, so far tails
///   keep their digits (Φ(−8) ≈ 6.2e-16 is returned as such, not as 0 or as 1 − 1).
/// - `quantile(p)` = Φ⁻¹(p): P. J. Acklam's rational approximation ("An algorithm for computing the
///   inverse normal cumulative distribution function", 2003; relative error ≤ 1.15e-9 over (0, 1)),
///   followed by one Halley step on Φ(x) − p using `erfc` (Acklam's own refinement), which brings it to
///   about machine precision: the tests compare with `scipy.stats.norm.ppf` at 1e-12 relative.
public enum Normal {
    /// Φ(x) = P(Z ≤ x).
    public static func cdf(_ x: Double) -> Double {
        0.5 * erfc(-x / 2.0.squareRoot())
    }

    /// 1 − Φ(x) = P(Z > x): the one-sided p-value of a z statistic, accurate in the upper tail.
    public static func survival(_ x: Double) -> Double {
        0.5 * erfc(x / 2.0.squareRoot())
    }

    /// Φ⁻¹(p) for p in (0, 1); −∞ for 0, +∞ for 1, NaN outside [0, 1].
    public static func quantile(_ p: Double) -> Double {
        guard p > 0, p < 1 else {
            if p == 0 { return -.infinity }
            if p == 1 { return .infinity }
            return .nan
        }
        var x = acklam(p)
        // One Halley step (third-order) on f(x) = Φ(x) − p, f' = φ(x), f''/f' = −x.
        // In the upper half the error is taken from the upper tail, where it is accurate.
        let e = p < 0.5 ? cdf(x) - p : (1 - p) - survival(x)
        let u = e * (2 * Double.pi).squareRoot() * exp(x * x / 2)
        x -= u / (1 + x * u / 2)
        return x
    }

    /// The critical value z_{1−α} of a one-sided test at level α: Φ⁻¹(1 − α), computed as −Φ⁻¹(α)
    /// so that a small α keeps its precision.
    public static func upperCritical(alpha: Double) -> Double {
        -quantile(alpha)
    }

    // Acklam's coefficients: central region (rational in r = (p − ½)²) and tails (in √(−2 ln p)).
    private static let a = (
        -3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
        1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00
    )
    private static let b = (
        -5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
        6.680131188771972e+01, -1.328068155288572e+01
    )
    private static let c = (
        -7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
        -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00
    )
    private static let d = (
        7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
        3.754408661907416e+00
    )
    private static let pLow = 0.02425

    /// Acklam's approximation alone (relative error ≤ 1.15e-9), before refinement; p in (0, 1).
    static func acklam(_ p: Double) -> Double {
        if p < pLow {
            return lowerTail(p)
        } else if p <= 1 - pLow {
            let q = p - 0.5
            let r = q * q
            let num = (((((a.0 * r + a.1) * r + a.2) * r + a.3) * r + a.4) * r + a.5) * q
            let den = ((((b.0 * r + b.1) * r + b.2) * r + b.3) * r + b.4) * r + 1
            return num / den
        } else {
            return -lowerTail(1 - p)
        }
    }

    /// The lower-tail branch: Φ⁻¹(p) for p < 0.02425.
    private static func lowerTail(_ p: Double) -> Double {
        let q = (-2 * log(p)).squareRoot()
        let num = ((((c.0 * q + c.1) * q + c.2) * q + c.3) * q + c.4) * q + c.5
        let den = (((d.0 * q + d.1) * q + d.2) * q + d.3) * q + 1
        return num / den
    }
}
