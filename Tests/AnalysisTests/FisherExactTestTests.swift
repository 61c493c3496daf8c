// Fisher's exact one-sided test against scipy, its edge cases, and its level at 20 canary requests.

import Testing
@testable import Analysis
import Simulation

@Suite struct FisherExactTestTests {
    /// p-values from scipy 1.17.1:
    ///     scipy.stats.fisher_exact([[x_c, n_c - x_c], [x_p, n_p - x_p]], alternative='greater').pvalue
    /// (the two large tables agree with a 40-digit mpmath sum of the hypergeometric terms to 1e-9).
    static let fixtures: [(xc: UInt64, nc: UInt64, xp: UInt64, np: UInt64, p: Double)] = [
        (3, 20, 2, 180, 0.00759292634877958),
        (1, 20, 9, 180, 0.660225623763214),
        (5, 20, 0, 180, 6.114408437845783e-06),
        (1, 50, 3, 450, 0.3447785440216935),
        (60, 1200, 60, 10800, 6.665016279351067e-29),
        (3150, 600_000, 27_000, 5_400_000, 0.005021641767432471),
        (2900, 600_000, 27_000, 5_400_000, 0.9603092511279882),
        (4800, 600_000, 27_000, 5_400_000, 1.287145388743709e-178),
        (20, 20, 0, 180, 6.197369659445108e-28),  // = 1 / C(200, 20)
    ]

    @Test func pValuesMatchScipy() {
        for f in Self.fixtures {
            let test = FisherExactTest(canaryFailures: f.xc, canaryRequests: f.nc, primaryFailures: f.xp, primaryRequests: f.np)
            #expect(close(test.pValue, f.p, relative: 1e-6), "\(f.xc)/\(f.nc) vs \(f.xp)/\(f.np): \(test.pValue), scipy \(f.p)")
        }
    }

    /// No failures at all, none on the canary, every request failed on both arms: nothing counts
    /// against the canary, p = 1 (scipy gives 1.0 for each).
    @Test func degenerateTablesHavePValueOne() {
        #expect(FisherExactTest(canaryFailures: 0, canaryRequests: 20, primaryFailures: 0, primaryRequests: 180).pValue == 1)
        #expect(FisherExactTest(canaryFailures: 0, canaryRequests: 20, primaryFailures: 5, primaryRequests: 180).pValue == 1)
        #expect(FisherExactTest(canaryFailures: 20, canaryRequests: 20, primaryFailures: 180, primaryRequests: 180).pValue == 1)
        #expect(FisherExactTest(canaryFailures: 0, canaryRequests: 600_000, primaryFailures: 0, primaryRequests: 5_400_000).pValue == 1)
        // Failures beyond the requests are capped.
        let capped = FisherExactTest(canaryFailures: 30, canaryRequests: 20, primaryFailures: 0, primaryRequests: 180)
        #expect(capped.canaryFailures == 20)
        #expect(close(capped.pValue, 6.197369659445108e-28, relative: 1e-6))
    }

    @Test func ratesAndDifference() {
        let test = FisherExactTest(canaryFailures: 3, canaryRequests: 20, primaryFailures: 2, primaryRequests: 180)
        #expect(test.canaryRate == 0.15)
        #expect(test.primaryRate == 2.0 / 180)
        #expect(test.difference == 0.15 - 2.0 / 180)
    }

    /// The p-value falls as the canary's failures rise, and stays in (0, 1].
    @Test func pValueIsMonotoneInTheCanaryFailures() {
        var previous = 2.0
        for x in UInt64(0)...40 {
            let p = FisherExactTest(canaryFailures: x, canaryRequests: 40, primaryFailures: 9, primaryRequests: 360).pValue
            #expect(p > 0 && p <= 1 && p <= previous, "x \(x): \(p)")
            previous = p
        }
    }

    /// At 20 canary / 180 primary requests and 5 % failures on both arms, the test rejects at most 5 %
    /// (+3σ) of 5,000 healthy intervals. The pooled z-test it replaced rejects far more on the same
    /// intervals — which is also the evidence that this simulation can see a test that is too eager.
    @Test func levelAtTwentyCanaryRequests() {
        let runs = 5_000, alpha = 0.05
        var rng = Xoshiro256(seed: 0xF15E_0001)
        var fisher = 0, zTest = 0
        let critical = Normal.upperCritical(alpha: alpha)
        for _ in 0..<runs {
            let xc = rng.binomial(20, 0.05), xp = rng.binomial(180, 0.05)
            if FisherExactTest(canaryFailures: xc, canaryRequests: 20, primaryFailures: xp, primaryRequests: 180).pValue <= alpha {
                fisher += 1
            }
            let pooled = Double(xc + xp) / 200
            if pooled > 0 && pooled < 1 {
                let z = (Double(xc) / 20 - Double(xp) / 180) / (pooled * (1 - pooled) * (1.0 / 20 + 1.0 / 180)).squareRoot()
                if z > critical { zTest += 1 }
            }
        }
        let rate = Double(fisher) / Double(runs), zRate = Double(zTest) / Double(runs)
        print("measured: Fisher rejects \(rate), the pooled z-test \(zRate) of \(runs) healthy intervals at 20 / 180 requests")
        #expect(rate <= threeSigmaBound(alpha, runs: runs), "Fisher rejects \(rate)")
        #expect(zRate > threeSigmaBound(alpha, runs: runs), "the z-test rejects \(zRate)")
    }
}
