// The binned Mann-Whitney U test against scipy.stats.mannwhitneyu on the same tied data.

import Testing
import Telemetry
@testable import Analysis

// Fixtures: histograms over six buckets (values 0...5 in Python, 1/2/5/10/20/50 ms here), expanded
// to tied data and tested with scipy 1.17.1:
//   python3 -c 'import numpy as np; from scipy import stats
//   x=np.repeat(np.arange(6),CANARY); y=np.repeat(np.arange(6),PRIMARY)
//   r=stats.mannwhitneyu(x,y,method="asymptotic",use_continuity=True,alternative="greater")
//   print(repr(r.statistic), repr(r.pvalue), repr(stats.norm.isf(r.pvalue)))'
@Suite struct MannWhitneyTestTests {
    static let fixtures: [(canary: [UInt64], primary: [UInt64], u: Double, p: Double, z: Double)] = [
        ([0, 3, 5, 7, 4, 1], [2, 6, 8, 5, 2, 0], 315.5, 0.01635226674509208, 2.135691919358271),
        ([1, 2, 4, 9, 12, 6], [10, 14, 9, 5, 2, 1], 1183.5, 7.345086352060944e-08, 5.256401087455328),
        ([9, 7, 3, 1, 0, 0], [1, 4, 8, 9, 6, 2], 70.0, 0.9999983845125835, -4.655562429494507),
        ([0, 0, 40, 0, 0, 1], [0, 3, 300, 2, 0, 0], 6425.0, 0.1029345806271117, 1.26500604404632),
        ([5, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 7], 0.0, 0.9996768317953236, -3.4113854986512355),
    ]

    @Test func uZAndPValueMatchScipy() {
        for f in Self.fixtures {
            let test = MannWhitneyTest(
                canary: histogram(milliseconds: sixLatencies, counts: f.canary),
                primary: histogram(milliseconds: sixLatencies, counts: f.primary))
            #expect(test.u == f.u, "U for \(f.canary) vs \(f.primary)")
            #expect(close(test.z, f.z), "z = \(test.z) for \(f.canary) vs \(f.primary)")
            #expect(close(test.pValue, f.p), "p = \(test.pValue) for \(f.canary) vs \(f.primary)")
            let nc = Double(f.canary.reduce(0, +)), np = Double(f.primary.reduce(0, +))
            #expect(close(test.cles, f.u / (nc * np), relative: 1e-15))
        }
    }

    @Test func allValuesInOneBucketGiveZeroZ() {
        let test = MannWhitneyTest(
            canary: histogram(milliseconds: [7], counts: [30]), primary: histogram(milliseconds: [7], counts: [300]))
        #expect(test.standardDeviation == 0 && test.z == 0 && test.cles == 0.5)
    }
}
