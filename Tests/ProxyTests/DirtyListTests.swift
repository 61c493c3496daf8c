// Deferred flushes: a connection is listed once however often marked, flushes once per round, and the two sides flush until quiet within a bound.
@testable import Proxy
import Testing

/// Records its flushes into a shared log; `onFlush` lets a flush mark connections, as a relayed frame does.
private final class FakeConnection: DeferredFlush {
    let name: String
    var isDirty = false
    var onFlush: () -> Void = {}
    private let log: Log
    init(_ name: String, log: Log) { self.name = name; self.log = log }
    func flush() {
        log.entries.append(name)
        onFlush()
    }
}

private final class Log { var entries: [String] = [] }

@Suite struct DirtyListTests {
    @Test func aConnectionMarkedTwiceFlushesOnce() {
        let log = Log()
        let list = DirtyList<FakeConnection>()
        let a = FakeConnection("a", log: log), b = FakeConnection("b", log: log)
        list.mark(a)
        list.mark(b)
        list.mark(a)
        list.flushMarked()
        #expect(log.entries == ["a", "b"])
        #expect(!a.isDirty && !b.isDirty)
        #expect(list.isEmpty)
    }

    @Test func aConnectionMarkedDuringItsFlushFlushesInTheNextRound() {
        let log = Log()
        let list = DirtyList<FakeConnection>()
        let a = FakeConnection("a", log: log)
        var again = true
        a.onFlush = { if again { again = false; list.mark(a) } }
        list.mark(a)
        list.flushMarked()
        #expect(log.entries == ["a"])
        #expect(!list.isEmpty, "marked again while flushing: listed for the next round")
        list.flushMarked()
        #expect(log.entries == ["a", "a"])
        #expect(list.isEmpty)
    }

    @Test func flushesBothSidesUntilQuiet() {
        let log = Log()
        let down = DirtyList<FakeConnection>(), up = DirtyList<FakeConnection>()
        let client = FakeConnection("client", log: log), upstream = FakeConnection("upstream", log: log)
        // The client's flush relays a frame upstream once; the upstream's flush answers the client once.
        var relays = 2
        client.onFlush = { if relays > 0 { relays -= 1; up.mark(upstream) } }
        upstream.onFlush = { if relays > 0 { relays -= 1; down.mark(client) } }
        down.mark(client)
        DirtyList.flushUntilQuiet(down, up)
        #expect(log.entries == ["client", "upstream", "client"])
        #expect(down.isEmpty && up.isEmpty)
    }

    @Test func connectionsThatKeepMarkingEachOtherStopAfterTheRoundLimit() {
        let log = Log()
        let down = DirtyList<FakeConnection>(), up = DirtyList<FakeConnection>()
        let client = FakeConnection("client", log: log), upstream = FakeConnection("upstream", log: log)
        client.onFlush = { up.mark(upstream) }
        upstream.onFlush = { down.mark(client) }
        down.mark(client)
        DirtyList.flushUntilQuiet(down, up, maxRounds: 3)
        #expect(log.entries.count == 6)
        #expect(!down.isEmpty, "left for the flush after the next batch of events")
    }

    @Test func removeAllForgetsWithoutFlushing() {
        let log = Log()
        let list = DirtyList<FakeConnection>()
        list.mark(FakeConnection("a", log: log))
        list.removeAll()
        list.flushMarked()
        #expect(log.entries.isEmpty)
    }
}
