// The two-proportion z-test against numpy/scipy evaluations of JUDGES.md §2's formula.

import Testing
@testable import Analysis

// Fixtures computed with (numpy 2.4.6, scipy 1.17.1):
//   python3 -c 'import numpy as np; from scipy import stats
//   for xc,nc,xp,n_p in CASES:
//       ph=(xc+xp)/(nc+n_p); z=(xc/nc-xp/n_p)/np.sqrt(ph*(1-ph)*(1/nc+1/n_p)); print(repr(z), repr(stats.norm.sf(z)))'
@Suite struct TwoProportionTestTests {
    static let fixtures: [(xc: UInt64, nc: UInt64, xp: UInt64, np: UInt64, z: Double, p: Double)] = [
        (12, 400, 30, 3600, 4.0331168375343065, 2.752094771254966e-05),
        (5, 1000, 45, 9000, 0.0, 0.5),
        (1, 50, 3, 450, 1.0040241611281235, 0.15768348396398485),
        (40, 6000, 270, 54000, 1.7083043373321525, 0.04378994346698897),
        (3, 600, 40, 5400, -0.6632079063185792, 0.7464012957307946),
        (60, 1200, 60, 10800, 14.679516868351474, 4.3604801952432704e-49),
    ]

    @Test func zAndPValueMatchFixtures() {
        for f in Self.fixtures {
            let test = TwoProportionTest(canaryFailures: f.xc, canaryRequests: f.nc, primaryFailures: f.xp, primaryRequests: f.np)
            if f.z == 0 { #expect(abs(test.z) < 1e-12) } else { #expect(close(test.z, f.z), "z for \(f)") }
            #expect(close(test.pValue, f.p), "p for \(f)")
        }
    }

    @Test func degeneratePoolsGiveZeroZ() {
        let none = TwoProportionTest(canaryFailures: 0, canaryRequests: 100, primaryFailures: 0, primaryRequests: 900)
        #expect(none.z == 0 && none.pooledRate == 0)
        let all = TwoProportionTest(canaryFailures: 100, canaryRequests: 100, primaryFailures: 900, primaryRequests: 900)
        #expect(all.z == 0 && all.pooledRate == 1)
    }
}
