// Deadline lists: expiry in order, re-arming moves an entry, cancelled entries never fire.
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
        list.arm(a, now: 30_000_000)   // re-armed: now last
        b.cancelDeadline()
        list.expire(now: 110_000_000)
        #expect(Probe.log == [])
        list.expire(now: 120_000_000)
        #expect(Probe.log == [3])
        list.expire(now: 130_000_000)
        #expect(Probe.log == [3, 1])
        #expect(list.earliest == nil)
    }
}
