// Normal CDF, upper tail and quantile against scipy.stats.norm.

import Testing
@testable import Analysis

// Fixtures: python3 -c 'from scipy import stats; print(repr(stats.norm.cdf(x)), repr(stats.norm.ppf(p)))'
// with scipy 1.17.1 (the script is /tmp/fixtures.py in the report; values pasted verbatim).
@Suite struct NormalTests {
    static let cdfFixtures: [(Double, Double)] = [
        (-8.0, 6.22096057427174e-16), (-3.0, 0.0013498980316300933), (-1.959963984540054, 0.025),
        (-0.5, 0.3085375387259869), (0.0, 0.5), (0.3, 0.6179114221889526), (1.6448536269514722, 0.95),
        (2.5, 0.9937903346742238), (6.0, 0.9999999990134123),
    ]
    static let quantileFixtures: [(Double, Double)] = [
        (1e-10, -6.361340902404056), (0.001, -3.090232306167813), (0.01, -2.3263478740408408),
        (0.02425, -1.972961051311885), (0.05, -1.6448536269514729), (0.3, -0.5244005127080409), (0.5, 0.0),
        (0.9, 1.2815515655446004), (0.95, 1.6448536269514722), (0.975, 1.959963984540054),
        (0.99, 2.3263478740408408), (0.999, 3.090232306167813), (0.999999999, 5.997807019601637),
    ]

    @Test func cdfMatchesScipy() {
        for (x, expected) in Self.cdfFixtures {
            #expect(close(Normal.cdf(x), expected, relative: 1e-12), "Φ(\(x))")
            #expect(close(Normal.survival(-x), expected, relative: 1e-12), "1 − Φ(\(-x))")
        }
    }

    @Test func quantileMatchesScipyToNearlyMachinePrecision() {
        for (p, expected) in Self.quantileFixtures {
            let x = Normal.quantile(p)
            if expected == 0 { #expect(abs(x) < 1e-15) } else { #expect(close(x, expected, relative: 1e-12), "Φ⁻¹(\(p)) = \(x)") }
        }
    }

    @Test func acklamAloneIsWithinItsPublishedBound() {
        // Acklam's approximation before the Halley step: relative error ≤ 1.15e-9.
        for (p, expected) in Self.quantileFixtures where expected != 0 {
            #expect(close(Normal.acklam(p), expected, relative: 1.2e-9), "acklam(\(p))")
        }
    }

    @Test func quantileInvertsCdf() {
        var p = 1e-12
        while p < 1 - 1e-6 {
            #expect(close(Normal.cdf(Normal.quantile(p)), p, relative: 1e-11))
            p = p < 0.01 ? p * 3 : p + 0.0137
        }
    }

    @Test func edgesAndCriticalValues() {
        #expect(Normal.quantile(0) == -.infinity)
        #expect(Normal.quantile(1) == .infinity)
        #expect(Normal.quantile(1.5).isNaN)
        #expect(close(Normal.upperCritical(alpha: 0.05), 1.6448536269514722, relative: 1e-12))
        #expect(close(Normal.upperCritical(alpha: 0.01), 2.3263478740408408, relative: 1e-12))
    }
}
