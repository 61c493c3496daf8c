// Seeded random traffic for the judges' calibration tests and benchmarks/analysis (not used by the proxy): xoshiro256** seeded by SplitMix64, Poisson and binomial samplers.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// xoshiro256** (Blackman & Vigna, "Scrambled linear pseudorandom number generators", 2021), its
/// state filled by SplitMix64 from one seed, so every simulation is reproducible.
public struct Xoshiro256: RandomNumberGenerator {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    public init(seed: UInt64) {
        var x = seed
        func splitMix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitMix(); s1 = splitMix(); s2 = splitMix(); s3 = splitMix()
    }

    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = s3 << 45 | s3 >> 19
        return result
    }

    /// Uniform in the open interval (0, 1): safe for `log`.
    public mutating func uniform() -> Double {
        (Double(next() >> 11) + 0.5) * 0x1p-53
    }

    /// Poisson(λ): inversion by sequential search below λ = 10, Hörmann's PTRS transformed
    /// rejection ("The transformed rejection method for generating Poisson random variables",
    /// Insurance: Mathematics and Economics 12, 1993) above.
    public mutating func poisson(_ lambda: Double) -> UInt64 {
        guard lambda > 0 else { return 0 }
        if lambda < 10 {
            var p = exp(-lambda), sum = p, x: UInt64 = 0
            let u = uniform()
            while u > sum && p > 0 {
                x += 1
                p *= lambda / Double(x)
                sum += p
            }
            return x
        }
        let slam = lambda.squareRoot(), logLambda = log(lambda)
        let b = 0.931 + 2.53 * slam
        let a = -0.059 + 0.02483 * b
        let invAlpha = 1.1239 + 1.1328 / (b - 3.4)
        let vr = 0.9277 - 3.6224 / (b - 2)
        while true {
            let u = uniform() - 0.5
            let v = uniform()
            let us = 0.5 - abs(u)
            let k = ((2 * a / us + b) * u + lambda + 0.43).rounded(.down)
            if us >= 0.07 && v <= vr { return UInt64(k) }
            if k < 0 || (us < 0.013 && v > us) { continue }
            if log(v) + log(invAlpha) - log(a / (us * us) + b) <= -lambda + k * logLambda - lgamma(k + 1) {
                return UInt64(k)
            }
        }
    }

    /// Binomial(n, p), exactly, by geometric waiting times between successes (expected n·min(p, 1−p) + 1
    /// steps: cheap at the failure rates simulated here).
    public mutating func binomial(_ n: UInt64, _ p: Double) -> UInt64 {
        if n == 0 || p <= 0 { return 0 }
        if p >= 1 { return n }
        if p > 0.5 { return n - binomial(n, 1 - p) }
        let logQ = log1p(-p)
        var successes: UInt64 = 0
        var position = 0.0
        let limit = Double(n)
        while true {
            position += (log(uniform()) / logQ).rounded(.down) + 1
            if position > limit { return successes }
            successes += 1
        }
    }
}
