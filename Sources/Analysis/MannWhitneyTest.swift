// The Mann-Whitney U test on two binned latency histograms: mid-ranks per bucket, tie correction, continuity.

import Telemetry

/// The one-sided Mann-Whitney U test (Wilcoxon rank-sum) of "the canary is slower than the
/// primary", computed on the binned histograms; the latency comparison reports its CLES (docs/JUDGES.md, section 5).
///
/// Both histograms share the `LatencyBuckets` boundaries, so every latency in a bucket is taken to
/// be tied with every other in it (the values differ by < 1.6 %), and the rank-sum is computed per
/// bucket with mid-ranks. Walking the buckets in increasing order with `c_k` canary and `p_k`
/// primary counts and `P_{<k}` primary values in lower buckets:
///
///     U_c  = Σ_k c_k · (P_{<k} + p_k / 2)          (= #{canary > primary} + ½ #{ties})
///     CLES = U_c / (n_c n_p)                        (estimates P(canary slower) + ½ P(tie))
///
/// Normal approximation with the tie correction and a continuity correction of ½ (Lehmann,
/// *Nonparametrics*, 1975, §1.4 and §2.3; Mann & Whitney, Ann. Math. Stat. 18, 1947):
///
///     μ  = n_c n_p / 2
///     σ² = n_c n_p / 12 · ((N + 1) − Σ_k (t_k³ − t_k) / (N (N − 1))),   N = n_c + n_p, t_k = c_k + p_k
///     z  = (U_c − μ − ½) / σ,    p = 1 − Φ(z)
///
/// This is exactly `scipy.stats.mannwhitneyu(canary, primary, method="asymptotic",
/// use_continuity=True, alternative="greater")` on the tied data (its statistic is U_c); the unit
/// tests compare with it. One pass over the 1 652 buckets, in Double (exact for counts below 2^53:
/// U_c ≤ n_c n_p needs n_c n_p < 9e15).
///
/// Degenerate case: when every value of both arms falls in one bucket σ = 0; `z` is then 0
/// ("no evidence"), as `U_c = μ` exactly.
public struct MannWhitneyTest: Sendable, Equatable {
    /// Canary and primary sample sizes (histogram counts).
    public let canaryCount: UInt64
    public let primaryCount: UInt64
    /// U_c, the canary's U statistic.
    public let u: Double
    /// μ = n_c n_p / 2.
    public let mean: Double
    /// σ, tie-corrected.
    public let standardDeviation: Double

    /// Both histograms must be non-empty.
    public init(canary: HistogramSnapshot, primary: HistogramSnapshot) {
        precondition(canary.count > 0 && primary.count > 0, "a Mann-Whitney test needs values on both arms")
        let nc = Double(canary.count), np = Double(primary.count)
        let n = nc + np
        var u = 0.0
        var primaryBelow = 0.0
        var tieSum = 0.0
        let c = canary.counts, p = primary.counts
        for k in 0..<min(c.count, p.count) {
            let ck = Double(c[k]), pk = Double(p[k])
            if ck == 0 && pk == 0 { continue }
            u += ck * (primaryBelow + pk / 2)
            primaryBelow += pk
            let t = ck + pk
            tieSum += t * t * t - t
        }
        canaryCount = canary.count
        primaryCount = primary.count
        self.u = u
        mean = nc * np / 2
        let variance = nc * np / 12 * ((n + 1) - tieSum / (n * (n - 1)))
        standardDeviation = variance > 0 ? variance.squareRoot() : 0
    }

    /// The common-language effect size U_c / (n_c n_p): 0.5 = no difference, 1 = every canary
    /// value above every primary value.
    public var cles: Double { u / (Double(canaryCount) * Double(primaryCount)) }

    /// z = (U_c − μ − ½) / σ, 0 when σ = 0.
    public var z: Double {
        guard standardDeviation > 0 else { return 0 }
        return (u - mean - 0.5) / standardDeviation
    }

    /// The one-sided p-value P(Z ≥ z) for H1: the canary is slower.
    public var pValue: Double { Normal.survival(z) }
}
