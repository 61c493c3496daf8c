// The buffer pool's trimming rule: a trim frees exactly the buffers that stayed free since the previous one, and the pool asks to be trimmed only when it grows.
import Testing
@testable import EventLoop

@Suite struct BufferPoolTrimTests {
    /// A pool whose `take` and `give` of `count` buffers at once left them all in its free list.
    private func poolAfterBurst(of count: Int) -> BufferPool {
        let pool = BufferPool(bufferSize: 64)
        let taken = (0..<count).map { _ in pool.take() }
        for buffer in taken { pool.give(buffer) }
        return pool
    }

    @Test func buffersFreeForAWholePeriodAreFreed() {
        let pool = poolAfterBurst(of: 10)
        // The burst allocated all ten during the first period: none stayed free throughout it.
        #expect(pool.trim() == 0)
        #expect(pool.freeCount == 10)
        // Nothing was taken during the second period: all ten go.
        #expect(pool.trim() == 10)
        #expect(pool.freeCount == 0)
        #expect(pool.ownedCount == 0)
    }

    @Test func thePeriodsPeakUseIsKept() {
        let pool = poolAfterBurst(of: 10)
        pool.trim()
        // A period in which at most three buffers were in use at once.
        for _ in 0..<5 {
            let a = pool.take(), b = pool.take(), c = pool.take()
            pool.give(a)
            pool.give(b)
            pool.give(c)
        }
        #expect(pool.trim() == 7)
        #expect(pool.freeCount == 3)
        #expect(pool.ownedCount == 3)
    }

    @Test func buffersInUseAreNeverFreed() {
        let pool = poolAfterBurst(of: 4)
        pool.trim()
        let held = [pool.take(), pool.take()]
        // The two left free were not taken during the period; the two held stay owned, and a trim
        // while they are out frees nothing more.
        #expect(pool.trim() == 2)
        #expect(pool.ownedCount == 2)
        #expect(pool.trim() == 0)
        #expect(pool.ownedCount == 2)
        for buffer in held { pool.give(buffer) }
        #expect(pool.freeCount == 2)
    }

    @Test func theGaugeFollowsOwnedBytes() {
        let pool = poolAfterBurst(of: 5)
        #expect(pool.gauge.bytes.load(ordering: .relaxed) == 5 * 64)
        pool.trim()
        pool.trim()
        #expect(pool.gauge.bytes.load(ordering: .relaxed) == 0)
    }

    @Test func growthAsksForATrimOnceUntilTrimmingStops() {
        let pool = BufferPool(bufferSize: 64)
        var asked = 0
        pool.onGrowth = { asked += 1 }
        let first = pool.take()
        let second = pool.take()
        #expect(asked == 1)
        pool.give(first)
        pool.give(second)
        pool.trim()
        pool.trim()
        pool.trimStopped()
        _ = pool.take()
        #expect(asked == 2)
    }

    @Test func aBufferBeyondTheCacheLimitIsFreedAtOnce() {
        let pool = BufferPool(bufferSize: 64, maxCached: 2)
        let taken = (0..<3).map { _ in pool.take() }
        for buffer in taken { pool.give(buffer) }
        #expect(pool.freeCount == 2)
        #expect(pool.ownedCount == 2)
    }
}
