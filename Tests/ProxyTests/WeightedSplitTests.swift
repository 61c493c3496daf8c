// The split is exact in aggregate: over every window of 1,000 consecutive picks the canary share is within 1 point.
import Testing
@testable import Proxy

@Suite struct WeightedSplitTests {
    @Test(arguments: [0, 1, 5, 10, 20, 25, 33, 50, 67, 80, 99, 100])
    func everyWindowOfAThousandIsWithinOnePoint(weight: Int) {
        for offset in [0, 37, 99] {
            var split = WeightedSplit(initialCredit: offset)
            let picks = (0..<5_000).map { _ in split.pickCanary(weight: weight) ? 1 : 0 }
            var inWindow = picks[0..<1000].reduce(0, +)
            for start in 0...(picks.count - 1000) {
                if start > 0 { inWindow += picks[start + 999] - picks[start - 1] }
                // 1 point of 1,000 requests is 10 requests.
                #expect(abs(inWindow * 100 - weight * 1000) <= 10 * 100, "weight \(weight) offset \(offset) window at \(start): \(inWindow)")
            }
            // The accumulator is tighter than the promise: at most one request off in any window.
            #expect(abs(inWindow * 100 - weight * 1000) <= 100)
        }
    }

    @Test func weightChangesTakeEffectImmediately() {
        var split = WeightedSplit()
        let first = (0..<100).filter { _ in split.pickCanary(weight: 10) }.count
        let second = (0..<100).filter { _ in split.pickCanary(weight: 90) }.count
        #expect((9...11).contains(first))
        #expect((89...91).contains(second))
    }

    @Test func zeroAndHundredAreAbsolute() {
        var split = WeightedSplit(initialCredit: 99)
        #expect((0..<1000).allSatisfy { _ in !split.pickCanary(weight: 0) })
        #expect((0..<1000).allSatisfy { _ in split.pickCanary(weight: 100) })
    }
}
