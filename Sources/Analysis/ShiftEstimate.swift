// The Hodges-Lehmann shift between two binned latency histograms, with its one-sided confidence bound.

import Telemetry

/// How much slower the canary is than the primary, as a shift in seconds: the Hodges-Lehmann
/// estimate (the median of all canary − primary differences) and a lower confidence bound on it
/// (Lehmann, *Nonparametrics*, 1975, §2.6: the bound is the (k+1)-th smallest difference with
/// k = ⌊n_c n_p / 2 − z_{1−α} · sqrt(n_c n_p (n_c + n_p + 1) / 12)⌋, the Mann-Whitney test inverted).
///
/// Why a shift and not only a rank statistic: the probability that the canary is slower (the CLES)
/// turns "significant" for differences nobody feels — two processes on one host at different loads
/// differ by fractions of a millisecond — so a latency failure needs this bound to exceed a
/// difference a person cares about, in milliseconds.
///
/// Histograms share bucket boundaries, so each latency is its bucket's representative value (within
/// 0.78 % of it) and the n_c·n_p differences are enumerated bucket pair by bucket pair, weighted by the
/// product of their counts: at most a few hundred occupied buckets per arm, a few tens of thousands
/// of pairs, once per interval.
public struct ShiftEstimate: Sendable, Equatable {
    /// The Hodges-Lehmann estimate of the canary's shift, seconds (positive: canary slower).
    public let estimate: Double
    /// The lower confidence bound at level 1 − α, seconds; −∞ when the samples are too small to bound it.
    public let lowerBound: Double

    public init(canary: HistogramSnapshot, primary: HistogramSnapshot, alpha: Double) {
        func occupied(_ h: HistogramSnapshot) -> [(value: Double, count: Double)] {
            h.counts.indices.compactMap { i in
                h.counts[i] == 0
                    ? nil
                    : (Double(LatencyBuckets.representative(i)) / 1e9, Double(h.counts[i]))
            }
        }
        let c = occupied(canary), p = occupied(primary)
        var pairs: [(difference: Double, weight: Double)] = []
        pairs.reserveCapacity(c.count * p.count)
        for a in c { for b in p { pairs.append((a.value - b.value, a.count * b.count)) } }
        pairs.sort { $0.difference < $1.difference }
        let m = Double(canary.count), n = Double(primary.count), total = m * n
        /// The difference at (1-based) rank r among the total weighted differences.
        func atRank(_ r: Double) -> Double {
            var seen = 0.0
            for pair in pairs {
                seen += pair.weight
                if seen >= r { return pair.difference }
            }
            return pairs.last?.difference ?? 0
        }
        guard total > 0 else {
            estimate = 0
            lowerBound = -.infinity
            return
        }
        estimate = atRank((total / 2).rounded(.up))
        let k = (total / 2 - Normal.upperCritical(alpha: alpha) * (total * (m + n + 1) / 12).squareRoot()).rounded(.down)
        lowerBound = k < 0 ? -.infinity : atRank(k + 1)
    }
}
