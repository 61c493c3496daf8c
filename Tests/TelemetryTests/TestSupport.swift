// Deterministic random numbers and latency distributions shared by the Telemetry tests.
import Foundation
import Telemetry

/// SplitMix64: tiny, seedable, and the same sequence on every platform.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Latency distributions (nanoseconds) inside the histogram's 1 µs – 60 s range.
enum Distribution: String, CaseIterable, CustomStringConvertible {
    case uniform, logUniform, bimodal

    var description: String { rawValue }

    func sample(_ rng: inout SplitMix64) -> UInt64 {
        switch self {
        case .uniform:
            return UInt64.random(in: 1_000...2_000_000_000, using: &rng)
        case .logUniform:
            let exponent = Double.random(in: 3...(10 + 0.778_151_25), using: &rng)  // 10^3 ns ... 6·10^10 ns
            return min(UInt64(pow(10, exponent).rounded()), 60_000_000_000)
        case .bimodal:
            // Fast cache hits around 300 µs, slow misses around 120 ms.
            return Bool.random(using: &rng)
                ? UInt64.random(in: 250_000...350_000, using: &rng)
                : UInt64.random(in: 100_000_000...140_000_000, using: &rng)
        }
    }
}

/// The nearest-rank sample quantile of sorted values, by the rank `HistogramSnapshot` documents.
func referenceQuantile(_ sorted: [UInt64], _ q: Double) -> UInt64 {
    let rank = min(max(Int((q * Double(sorted.count)).rounded(.up)), 1), sorted.count)
    return sorted[rank - 1]
}
