// The hand-over rule of `balance: connections`: to the least-loaded loop, only at a difference of two or more.
import Testing
@testable import Proxy

@Suite struct AcceptBalancerTests {
    @Test func keepsTheConnectionWhenTheLoopsAreWithinOne() {
        // `mine` counts the new connection already.
        #expect(AcceptBalancer.target(mine: 1, peerCounts: [0]) == nil)
        #expect(AcceptBalancer.target(mine: 5, peerCounts: [5]) == nil)
        #expect(AcceptBalancer.target(mine: 5, peerCounts: [4, 6]) == nil)
        #expect(AcceptBalancer.target(mine: 3, peerCounts: [9]) == nil)
        #expect(AcceptBalancer.target(mine: 1, peerCounts: []) == nil)
    }

    @Test func handsOverToTheLeastLoadedPeer() {
        #expect(AcceptBalancer.target(mine: 2, peerCounts: [0]) == 0)
        #expect(AcceptBalancer.target(mine: 7, peerCounts: [6, 3, 5]) == 1)
        // A peer that cannot take connections yet (counted Int.max) is passed over.
        #expect(AcceptBalancer.target(mine: 9, peerCounts: [Int.max, 5]) == 1)
        #expect(AcceptBalancer.target(mine: 9, peerCounts: [Int.max]) == nil)
        // Ties go to the first such loop.
        #expect(AcceptBalancer.target(mine: 9, peerCounts: [8, 4, 4]) == 1)
    }

    /// Connections accepted one at a time, each on a loop chosen as unevenly as can be (always loop 0,
    /// as a skewed hash would), end up within one of each other on every loop.
    @Test(arguments: [2, 3, 4])
    func oneLoopAcceptingEverythingStillSpreadsEvenly(loops: Int) {
        var counts = Array(repeating: 0, count: loops)
        for _ in 0..<101 {
            counts[0] += 1
            let peers = Array(counts.dropFirst())
            if let i = AcceptBalancer.target(mine: counts[0], peerCounts: peers) {
                counts[0] -= 1
                counts[i + 1] += 1
            }
        }
        #expect(counts.max()! - counts.min()! <= 1, "\(counts)")
        #expect(counts.reduce(0, +) == 101)
    }
}
