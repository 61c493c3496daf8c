// The split: exactly `weight` canary picks in every block of 100, in an order unrelated to the requests'.
import Testing
@testable import Proxy

@Suite struct WeightedSplitTests {
    /// Canary picks among the next `count` requests at `weight`.
    static func canaryPicks(_ split: inout WeightedSplit, weight: Int, count: Int) -> Int {
        (0..<count).reduce(0) { n, _ in n + (split.pickCanary(weight: weight) ? 1 : 0) }
    }

    @Test(arguments: 0...100)
    func everyBlockOfAHundredHoldsExactlyTheWeight(weight: Int) {
        var split = WeightedSplit(seed: 0x5eed_0000 + UInt64(weight))
        for block in 0..<5 {
            let picks = Self.canaryPicks(&split, weight: weight, count: 100)
            #expect(picks == weight, "weight \(weight), block \(block): \(picks) canary picks")
        }
    }

    @Test func aWeightChangeStartsANewBlock() {
        var split = WeightedSplit(seed: 42)
        // Mid-block at 30: the rest of that block is dropped, the next 100 are a block at 70.
        let before = Self.canaryPicks(&split, weight: 30, count: 50)
        #expect(before <= 30)
        #expect(Self.canaryPicks(&split, weight: 70, count: 100) == 70)
        // And back, again mid-block.
        _ = Self.canaryPicks(&split, weight: 70, count: 37)
        #expect(Self.canaryPicks(&split, weight: 30, count: 100) == 30)
        #expect(Self.canaryPicks(&split, weight: 30, count: 100) == 30)
    }

    @Test func zeroAndHundredAreAbsolute() {
        var split = WeightedSplit(seed: 7)
        _ = Self.canaryPicks(&split, weight: 50, count: 33)
        #expect((0..<1000).allSatisfy { _ in !split.pickCanary(weight: 0) })
        #expect((0..<1000).allSatisfy { _ in split.pickCanary(weight: 100) })
    }

    /// 1,000 requests from a block's start are 10 blocks: exactly the weight. A window starting
    /// mid-block is off by the two part-blocks at its ends. At weight 50 each part's deviation is
    /// hypergeometric (sd ≤ 2.5 requests, 3.55 for the two), so among the 1,001 windows of 2,000
    /// requests one is more than 1 point (10 requests) off about one time in seven (simulated): no
    /// random split can promise 1 point for every window. 2 points (20 requests) is 5.6 sd, and the
    /// chance that any window across one pair of blocks exceeds it is about 3e-7.
    @Test(arguments: [1, 5, 10, 20, 25, 30, 33, 50, 67, 80, 99])
    func aThousandRequestsAreWithinOnePointOfTheWeight(weight: Int) {
        var split = WeightedSplit(seed: 0xc0ffee + UInt64(weight))
        let picks = (0..<3000).map { _ in split.pickCanary(weight: weight) ? 1 : 0 }
        for start in stride(from: 0, through: 2000, by: 100) {
            let inWindow = picks[start..<(start + 1000)].reduce(0, +)
            #expect(inWindow == weight * 10, "weight \(weight), block-aligned window at \(start): \(inWindow)")
        }
        var inWindow = picks[0..<1000].reduce(0, +)
        var worst = 0
        for start in 1...2000 {
            inWindow += picks[start + 999] - picks[start - 1]
            worst = max(worst, abs(inWindow - weight * 10))
        }
        #expect(worst <= 20, "weight \(weight): a 1,000-request window was \(worst) requests off")
    }

    /// A client alternating `paths` paths: each path's canary share is near the weight. The old
    /// credit accumulator gave share 0 or 1 per path here (weight 50, two paths: every other
    /// request, always the same path). With independent picks the sd of a share over 2,000 requests
    /// is √(w(1−w)/2000) ≤ √(0.25/2000) = 0.0112 (blocks only make it smaller), so a bound of 0.06
    /// is over 5 sd: it cannot fail by chance in practice, and any order correlation breaks it.
    @Test(arguments: [(50, 2), (25, 4), (33, 3), (50, 4)])
    func noCorrelationWithRequestOrder(weight: Int, paths: Int) {
        var split = WeightedSplit(seed: 0xabcd + UInt64(weight * 10 + paths))
        var canary = [Int](repeating: 0, count: paths)
        let perPath = 2000
        for i in 0..<(perPath * paths) {
            if split.pickCanary(weight: weight) { canary[i % paths] += 1 }
        }
        for (path, count) in canary.enumerated() {
            let share = Double(count) / Double(perPath)
            #expect(
                abs(share - Double(weight) / 100) < 0.06,
                "weight \(weight), path \(path) of \(paths): canary share \(share)")
        }
    }

    @Test func differentSeedsDealDifferentBlocks() {
        var a = WeightedSplit(seed: 1), b = WeightedSplit(seed: 2)
        let first = (0..<100).map { _ in a.pickCanary(weight: 50) }
        let second = (0..<100).map { _ in b.pickCanary(weight: 50) }
        #expect(first != second)
        // The system-seeded initialiser deals exact blocks too.
        var system = WeightedSplit()
        #expect(Self.canaryPicks(&system, weight: 37, count: 100) == 37)
    }
}
