// GET /events without sockets: the SSE framing, a stream's unsent-bytes bound, the stream count, the timeline's `now`.
@testable import Canarygate
import Foundation
import Testing

@Suite struct EventStreamTests {
    private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test func aMessageIsItsEventItsDataLinesAndABlankLine() {
        #expect(text(EventStreamFrame.message(event: "update", data: "{\"a\":1}")) == "event: update\ndata: {\"a\":1}\n\n")
        // A line break in the data would end the field: each line gets its own `data:` (the browser joins them).
        #expect(
            text(EventStreamFrame.message(event: "x", data: "one\r\ntwo\n\nthree"))
                == "event: x\ndata: one\ndata: two\ndata: \ndata: three\n\n")
    }

    @Test func theStreamsHeadHasNoLengthAndIsNotCached() {
        let head = text(EventStreamFrame.head)
        #expect(head.hasPrefix("HTTP/1.1 200 OK\r\n") && head.hasSuffix("\r\n\r\n"))
        #expect(head.contains("Content-Type: text/event-stream\r\n") && head.contains("Cache-Control: no-store\r\n"))
        #expect(!head.lowercased().contains("content-length"))
    }

    @Test func snapshotAndUpdateCarryStatusAndTimeline() throws {
        for (message, event) in [
            (EventStreamFeedMessage.snapshot.bytes(status: "{\"routes\":[]}", timeline: "{\"now\":1.0}"), "snapshot"),
            (EventStreamFeedMessage.update.bytes(status: "{\"routes\":[]}", timeline: "{\"now\":1.0}"), "update"),
        ] {
            let lines = text(message).split(separator: "\n")
            #expect(lines.first.map(String.init) == "event: \(event)")
            let data = try #require(lines.last.map { $0.dropFirst("data: ".count) })
            let json = try #require(try JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any])
            #expect(json["status"] is [String: Any] && json["timeline"] is [String: Any])
        }
    }

    @Test func theOutboxKeepsOrderAcrossPartialWrites() {
        var outbox = EventStreamOutbox()
        let first = outbox.append(Array("abcdef".utf8))
        outbox.took(2)
        let second = outbox.append(Array("gh".utf8))
        #expect(first && second)
        #expect(outbox.unsent == 6)
        #expect(outbox.withUnsent { String(decoding: $0, as: UTF8.self) } == "cdefgh")
        outbox.took(6)
        #expect(outbox.unsent == 0 && outbox.withUnsent { $0.count } == 0)
    }

    /// Past the bound the client gets nothing more (and the loop drops it); up to it, messages are queued.
    @Test func aClientTooFarBehindIsRefusedMore() {
        var outbox = EventStreamOutbox()
        let chunk = [UInt8](repeating: 0x61, count: 256 * 1024)
        let queued = (0..<4).map { _ in outbox.append(chunk) }
        #expect(queued == [true, true, true, true] && outbox.unsent == EventStreamOutbox.limit)
        let atTheBound = outbox.append([1])
        #expect(atTheBound, "at the bound, not past it")
        let pastIt = outbox.append([2])
        #expect(!pastIt)
        #expect(outbox.unsent == EventStreamOutbox.limit + 1, "a refused message is not queued")
        outbox.took(2)
        let afterTaking = outbox.append([3])
        #expect(afterTaking, "once the socket takes bytes, it is under the bound again")
    }

    /// The snapshot may be larger than the bound (many routes): it does not count, the updates after it do.
    @Test func theBoundCountsOnlyWhatFollowsTheSnapshot() {
        let snapshot = [UInt8](repeating: 0x73, count: 2 * EventStreamOutbox.limit)
        var outbox = EventStreamOutbox(first: snapshot)
        #expect(outbox.unsent == snapshot.count && outbox.backlog == 0)
        let chunk = [UInt8](repeating: 0x61, count: 256 * 1024)
        let queued = (0..<4).map { _ in outbox.append(chunk) }
        #expect(queued == [true, true, true, true], "a snapshot larger than the bound does not make the client slow")
        #expect(outbox.backlog == EventStreamOutbox.limit)
        let atTheBound = outbox.append([1])
        let pastIt = outbox.append([2])
        #expect(atTheBound && !pastIt)
        // Taking the snapshot leaves the updates' backlog as it was; taking updates makes room again.
        outbox.took(snapshot.count)
        #expect(outbox.backlog == EventStreamOutbox.limit + 1 && outbox.unsent == EventStreamOutbox.limit + 1)
        let stillBehind = outbox.append([3])
        #expect(!stillBehind)
        outbox.took(2)
        let afterTaking = outbox.append([4])
        #expect(afterTaking)
        #expect(outbox.withUnsent { Array($0.prefix(1)) } == [0x61], "the snapshot went first, then the updates in order")
    }

    /// Partial writes of the snapshot move its uncounted part along with them.
    @Test func aPartlySentSnapshotStillDoesNotCount() {
        var outbox = EventStreamOutbox(first: Array("head+snapshot".utf8))
        outbox.took(5)
        #expect(outbox.backlog == 0)
        let queued = outbox.append(Array("update".utf8))
        #expect(queued && outbox.backlog == 6 && outbox.withUnsent { String(decoding: $0, as: UTF8.self) } == "snapshotupdate")
    }

    @Test func theOldestStreamsMakeRoom() {
        #expect(EventStreamRoster.limit == 16)
        #expect(EventStreamRoster.excess(count: 16).isEmpty)
        #expect(EventStreamRoster.excess(count: 17) == 0..<1)
        #expect(EventStreamRoster.excess(count: 20, limit: 16) == 0..<4)
        #expect(EventStreamRoster.excess(count: 0).isEmpty)
    }

    @Test func theTimelinesNowIsItsFirstField() {
        #expect(AdminEventFeed.now(in: "{\"now\":1765000000.25,\"routes\":[]}") == 1765000000.25)
        #expect(AdminEventFeed.now(in: "{\"now\":12.0}") == 12.0)
        #expect(AdminEventFeed.now(in: "{\"routes\":[],\"now\":1.0}") == nil)
        #expect(AdminEventFeed.now(in: "") == nil)
    }
}
