// Giving memory back: the loop's once-a-second trim of its buffer pool and spare objects, and the process's rate-limited malloc_trim after one freed something.
import CLinuxShims
import EventLoop
import Synchronization

/// Ticks once a second while the loop's pool owns buffers or the loop keeps spare objects, armed by the
/// pool's first allocation after it owned none (spares are only made while buffers are in use), so an
/// idle loop with nothing kept is not woken for it. Never on the request path.
final class MemoryTrim: Pollable {
    private let pool: BufferPool
    /// Unowned: the loop owns the trim and its deadline lists.
    private unowned(unsafe) let loop: EventLoop
    private let period: DeadlineList
    /// Lets go of the loop's spare objects no request took in the last period; returns how many were
    /// let go and how many are still kept. Set by the loop once it is built.
    var trimSpares: () -> (letGo: Int, kept: Int) = { (0, 0) }

    init(pool: BufferPool, loop: EventLoop, period: DeadlineList) {
        self.pool = pool
        self.loop = loop
        self.period = period
        super.init()
        pool.onGrowth = { [unowned(unsafe) self] in self.period.arm(self, now: self.loop.now) }
    }

    override func handleDeadline() {
        let buffersFreed = pool.trim()
        let spares = trimSpares()
        if buffersFreed + spares.letGo > 0 { MallocTrim.afterFree(now: loop.now) }
        if pool.ownedCount > 0 || spares.kept > 0 {
            period.arm(self, now: loop.now)
        } else {
            pool.trimStopped()
        }
    }
}

/// Freed 17 KiB buffers go back to malloc's arenas, which keep the pages: `malloc_trim(0)` returns the
/// whole free pages to the system. It takes every arena's lock, so it runs at most once a second in
/// the whole process, and only from a loop's trim tick after that tick freed buffers or spares.
enum MallocTrim {
    private static let lastTrim = Atomic<UInt64>(0)
    private static let interval: UInt64 = 1_000_000_000

    static func afterFree(now: UInt64) {
        let last = lastTrim.load(ordering: .relaxed)
        guard last == 0 || now &- last >= interval else { return }
        guard lastTrim.compareExchange(expected: last, desired: now, ordering: .relaxed).exchanged else { return }
        _ = malloc_trim(0)
    }
}
