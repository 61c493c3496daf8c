// A loop's deadline lists across reloads: alike timeouts share a list, changed ones get a new one, unused ones are dropped, fixed ones stay.
@testable import Proxy
import Config
import EventLoop
import Testing

@Suite struct LoopDeadlinesTests {
    @Test func timeoutsConfiguredAlikeShareOneList() throws {
        let loop = try EventLoop(bufferSize: 1024)
        var t = TimeoutsConfig()
        t.requestHeader = .seconds(7)
        t.tlsHandshake = .seconds(7)
        let deadlines = LoopDeadlines(t, on: loop)
        #expect(deadlines.header === deadlines.handshake)
        #expect(deadlines.header !== deadlines.idle)
        #expect(deadlines.listenerBackoff === deadlines.sweep, "both 100 ms")
    }

    @Test func aReloadReplacesChangedListsKeepsTheOthersAndDropsTheUnused() throws {
        let loop = try EventLoop(bufferSize: 1024)
        var t = TimeoutsConfig()
        t.requestHeader = .seconds(7)
        var deadlines = LoopDeadlines(t, on: loop)
        let (oldHeader, oldIdle, backoff, linger) = (deadlines.header, deadlines.idle, deadlines.listenerBackoff, deadlines.linger)
        let countBefore = loop.deadlineListCount
        t.requestHeader = .seconds(8)
        deadlines.install(t, on: loop)
        #expect(deadlines.header !== oldHeader)
        #expect(deadlines.header.duration == 8_000_000_000)
        #expect(deadlines.idle === oldIdle, "an unchanged timeout keeps its list and the deadlines armed on it")
        #expect(deadlines.listenerBackoff === backoff && deadlines.linger === linger)
        #expect(loop.deadlineListCount == countBefore, "the empty 7 s list is dropped, the 8 s one added")
    }

    @Test func aRetiredListWithADeadlineStaysUntilItIsGone() throws {
        let loop = try EventLoop(bufferSize: 1024)
        var t = TimeoutsConfig()
        t.requestHeader = .seconds(7)
        var deadlines = LoopDeadlines(t, on: loop)
        let armed = Pollable()
        deadlines.header.arm(armed, now: 0)
        let countBefore = loop.deadlineListCount
        t.requestHeader = .seconds(8)
        deadlines.install(t, on: loop)
        #expect(loop.deadlineListCount == countBefore + 1, "the 7 s list still holds a deadline")
        armed.cancelDeadline()
    }
}
