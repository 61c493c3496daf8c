// How clustered an interval's failures were: the quasi-binomial dispersion φ from one-second block counts.

/// Pearson's dispersion statistic over an interval cut into blocks of one second (McCullagh &
/// Nelder, *Generalized Linear Models*, 2nd ed., §4.5.2): with each arm's failure rate p̂ over the
/// interval and a block's n_b requests and x_b failures,
///
///     φ = Σ_blocks (x_b − n_b p̂)² / (n_b p̂ (1 − p̂))  /  (blocks − 2)      (both arms, each with its own p̂)
///
/// Independent failures give φ ≈ 1; failures in clusters of k give φ ≈ k; an outage that fails an
/// arm for a second gives φ in the tens. Dividing every count by φ (at least 1) before a binomial
/// test keeps its level under such clustering, at the cost of power only when failures do cluster.
/// Blocks of a second, not ticks: a cluster spanning ticks inflates the variance of the second it
/// falls in, which per-tick counts dilute among the quiet ticks around it (measured: per-tick φ ≈ 2.5
/// for a 1.25 s outage in a 30 s interval, per-second φ ≈ 27).
public struct Dispersion: Sendable {
    /// Ticks per block.
    static let blockTicks = 10
    private var blocks: [(canary: (n: UInt64, x: UInt64), primary: (n: UInt64, x: UInt64))] = []
    private var ticksInBlock = 0

    public init() {}

    /// Adds one tick's requests and failures of both arms.
    public mutating func add(canary: ArmWindow, primary: ArmWindow) {
        if ticksInBlock == 0 || ticksInBlock == Self.blockTicks {
            blocks.append(((0, 0), (0, 0)))
            ticksInBlock = 0
        }
        ticksInBlock += 1
        blocks[blocks.count - 1].canary.n += canary.n
        blocks[blocks.count - 1].canary.x += canary.failures
        blocks[blocks.count - 1].primary.n += primary.n
        blocks[blocks.count - 1].primary.x += primary.failures
    }

    /// φ over the blocks so far, at least 1 (1 when there are too few blocks or failures to estimate it).
    public var phi: Double {
        var statistic = 0.0, terms = 0
        for arm in 0..<2 {
            let counts = blocks.map { arm == 0 ? $0.canary : $0.primary }
            let n = counts.reduce(0) { $0 + $1.n }, x = counts.reduce(0) { $0 + $1.x }
            guard n > 0, x > 0, x < n else { continue }
            let p = Double(x) / Double(n)
            for block in counts where block.n > 0 {
                let expected = Double(block.n) * p
                statistic += (Double(block.x) - expected) * (Double(block.x) - expected) / (expected * (1 - p))
                terms += 1
            }
        }
        guard terms > 2 else { return 1 }
        return max(1, statistic / Double(terms - 2))
    }
}
