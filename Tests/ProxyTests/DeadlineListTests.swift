// Deadline lists: expiry in order, re-arming moves an entry, cancelled entries never fire; lists a reload replaced are dropped once empty; links never dangle.
import EventLoop
import Testing

private final class Probe: Pollable {
    let id: Int
    init(_ id: Int) { self.id = id }
    nonisolated(unsafe) static var log: [Int] = []
    override func handleDeadline() { Probe.log.append(id) }
}

@Suite(.serialized) struct DeadlineListTests {
    @Test func expiresInOrderAndHonoursRearmAndCancel() {
        Probe.log = []
        let list = DeadlineList(duration: .milliseconds(100))
        let a = Probe(1), b = Probe(2), c = Probe(3)
        list.arm(a, now: 0)
        list.arm(b, now: 10_000_000)
        list.arm(c, now: 20_000_000)
        list.arm(a, now: 30_000_000)  // re-armed: now last
        b.cancelDeadline()
        list.expire(now: 110_000_000)
        #expect(Probe.log == [])
        list.expire(now: 120_000_000)
        #expect(Probe.log == [3])
        list.expire(now: 130_000_000)
        #expect(Probe.log == [3, 1])
        #expect(list.earliest == nil)
    }

    /// A reload that changes a timeout gets a new list; the old one keeps its entries until they go, then
    /// leaves the loop, so reload after reload does not grow the lists checked on every turn.
    @Test func aReplacedListLeavesTheLoopOnceEmpty() throws {
        let loop = try EventLoop(bufferSize: 4096)
        let old = loop.deadlineList(for: .seconds(1))
        let kept = loop.deadlineList(for: .seconds(2))
        _ = loop.deadlineList(for: .seconds(3))  // a list nothing uses after the reload
        #expect(loop.deadlineListCount == 3)
        let waiting = Probe(1)
        old.arm(waiting, now: 0)
        let replacement = loop.deadlineList(for: .seconds(5))
        loop.retireDeadlineLists(except: [kept, replacement])
        // The empty one is gone at once; the one with an entry stays until the entry leaves it.
        #expect(loop.deadlineListCount == 3)
        waiting.cancelDeadline()
        loop.retireDeadlineLists(except: [kept, replacement])
        #expect(loop.deadlineListCount == 2)
        // Asking for a retired duration again brings it back into use rather than duplicating it.
        let again = loop.deadlineList(for: .seconds(2))
        #expect(again === kept)
        loop.retireDeadlineLists(except: [again])
        #expect(loop.deadlineListCount == 1)
    }

    /// The list does not own its entries: one released while armed unlinks itself, and its neighbours still expire.
    @Test func anEntryReleasedWhileArmedLeavesTheListIntact() {
        Probe.log = []
        let list = DeadlineList(duration: .milliseconds(100))
        let a = Probe(1), c = Probe(3)
        weak var gone: Probe?
        do {
            let b = Probe(2)
            gone = b
            list.arm(a, now: 0)
            list.arm(b, now: 1)
            list.arm(c, now: 2)
        }
        #expect(gone == nil)
        list.expire(now: 1_000_000_000)
        #expect(Probe.log == [1, 3])
        #expect(list.isEmpty)
        // The tail was the released one's neighbour: arming after it links correctly.
        let d = Probe(4)
        list.arm(d, now: 0)
        list.expire(now: 1_000_000_000)
        #expect(Probe.log == [1, 3, 4])
    }

    /// A list dropped with entries on it (a loop torn down) leaves them unarmed, not pointing at freed memory.
    @Test func aListReleasedWithEntriesUnarmsThem() {
        let a = Probe(1), b = Probe(2)
        do {
            let list = DeadlineList(duration: .seconds(1))
            list.arm(a, now: 0)
            list.arm(b, now: 0)
            #expect(a.hasDeadline && b.hasDeadline)
        }
        #expect(!a.hasDeadline && !b.hasDeadline)
        a.cancelDeadline()  // a no-op now; it would touch the freed list if the link remained
        let next = DeadlineList(duration: .seconds(1))
        next.arm(b, now: 0)
        #expect(next.earliest == 1_000_000_000)
    }
}
