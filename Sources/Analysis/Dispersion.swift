// How clustered an interval's failures were: the quasi-binomial dispersion φ from the per-tick counts.

/// Pearson's dispersion statistic over an interval's ticks (McCullagh & Nelder, *Generalized Linear
/// Models*, 2nd ed., §4.5.2): with each arm's failure rate p̂ over the interval and a tick's n_t
/// requests and x_t failures,
///
///     φ = Σ_ticks (x_t − n_t p̂)² / (n_t p̂ (1 − p̂))  /  (ticks − 2)      (both arms, each with its own p̂)
///
/// Independent failures give φ ≈ 1; failures in clusters of k give φ ≈ k; an outage that fails an arm
/// for a second gives φ in the tens. Dividing every count by φ (at least 1) before a binomial test
/// keeps its level under such clustering, at the cost of power only when failures do cluster.
public struct Dispersion: Sendable {
    private var ticks: [(canary: (n: UInt64, x: UInt64), primary: (n: UInt64, x: UInt64))] = []

    public init() {}

    /// Adds one tick's requests and failures of both arms.
    public mutating func add(canary: ArmWindow, primary: ArmWindow) {
        ticks.append(((canary.n, canary.failures), (primary.n, primary.failures)))
    }

    /// φ over the ticks added, at least 1 (1 when there are too few ticks or failures to estimate it).
    public var phi: Double {
        var statistic = 0.0, terms = 0
        for arm in 0..<2 {
            let counts = ticks.map { arm == 0 ? $0.canary : $0.primary }
            let n = counts.reduce(0) { $0 + $1.n }, x = counts.reduce(0) { $0 + $1.x }
            guard n > 0, x > 0, x < n else { continue }
            let p = Double(x) / Double(n)
            for tick in counts where tick.n > 0 {
                let expected = Double(tick.n) * p
                statistic += (Double(tick.x) - expected) * (Double(tick.x) - expected) / (expected * (1 - p))
                terms += 1
            }
        }
        guard terms > 2 else { return 1 }
        return max(1, statistic / Double(terms - 2))
    }
}
