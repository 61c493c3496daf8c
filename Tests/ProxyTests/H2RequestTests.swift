// The request side of an HTTP/2 stream without sockets: body framing, flow-control debt, head and trailer bounds, and a restart that keeps nothing.
import EventLoop
import Testing
@testable import Proxy

@Suite struct H2RequestTests {
    private let pool = BufferPool(bufferSize: 256)

    private func request(maxListSize: Int = 4096, maxCount: Int = 100) -> H2Request {
        var r = H2Request(maxListSize: maxListSize, maxCount: maxCount)
        r.restart(maxListSize: maxListSize, maxCount: maxCount, scratch: pool.take())
        return r
    }

    private func add(_ r: inout H2Request, _ name: String, _ value: String, maxListSize: Int = 4096, maxCount: Int = 100) -> Bool {
        Array(name.utf8).withUnsafeBytes { n in
            Array(value.utf8).withUnsafeBytes { v in r.addField(name: n, value: v, maxListSize: maxListSize, maxCount: maxCount) }
        }
    }

    private func trailer(_ r: inout H2Request, valueLength: Int, maxListSize: Int) -> Bool {
        Array("n".utf8).withUnsafeBytes { n in
            Array(repeating: UInt8(ascii: "v"), count: valueLength).withUnsafeBytes { v in
                r.addTrailerField(name: n, value: v, maxListSize: maxListSize)
            }
        }
    }

    private func receive(_ r: inout H2Request, _ text: String) -> Bool {
        Array(text.utf8).withUnsafeBytes { r.receive($0, pool: pool) }
    }

    private func queued(_ r: inout H2Request) -> String {
        var out = [UInt8](repeating: 0, count: 1024)
        let n = out.withUnsafeMutableBytes { r.body.take(into: $0, pool: pool) }
        return String(decoding: out[0..<n], as: UTF8.self)
    }

    @Test func aChunkedBodyIsFramedAndEndedWithTheLastChunk() {
        var r = request()
        r.progress.chunkedBody = true
        #expect(receive(&r, "hello"))
        #expect(receive(&r, String(repeating: "x", count: 26)))
        r.bodyEnded(pool: pool)
        #expect(queued(&r) == "5\r\nhello\r\n1a\r\n" + String(repeating: "x", count: 26) + "\r\n0\r\n\r\n")
        #expect(r.progress.ended)
    }

    @Test func aBodyWithALengthGoesOutAsItCame() {
        var r = request()
        #expect(receive(&r, "hello"))
        r.bodyEnded(pool: pool)
        #expect(queued(&r) == "hello")
        #expect(r.fullyQueuedOut)
    }

    /// Chunk framing bytes written upstream never acknowledge more than the client sent.
    @Test func acknowledgementsNeverExceedTheBytesReceived() {
        var r = request()
        r.progress.chunkedBody = true
        #expect(receive(&r, "hello"))
        #expect(r.progress.unacknowledged == 5)
        #expect(r.acknowledge(3) == 3)
        #expect(r.acknowledge(10) == 2)
        #expect(r.acknowledge(10) == 0)
    }

    /// Only a request that ended with no body declared or sent can be sent again whole (a retry).
    @Test func onlyARequestWithoutABodyIsBodiless() {
        var r = request()
        #expect(!r.isBodiless, "not ended yet")
        r.progress.ended = true
        #expect(r.isBodiless)
        var declared = request()
        #expect(add(&declared, "content-length", "0"))
        declared.progress.ended = true
        #expect(!declared.isBodiless)
        var chunked = request()
        chunked.progress.chunkedBody = true
        chunked.progress.ended = true
        #expect(!chunked.isBodiless)
        var queued = request()
        #expect(receive(&queued, "x"))
        queued.progress.ended = true
        #expect(!queued.isBodiless)
    }

    /// A dropped body is still owed to the client's window: what was queued, and what comes after.
    @Test func aDroppedBodyIsAcknowledgedAndNotQueued() {
        var r = request()
        #expect(receive(&r, "abc"))
        r.dropBody(pool: pool)
        #expect(r.progress.discardingBody)
        #expect(r.body.isEmpty)
        #expect(r.progress.unacknowledged == 0)
        #expect(r.progress.acknowledgeLater == 3)
        #expect(!receive(&r, "defg"))
        #expect(r.progress.acknowledgeLater == 7)
        #expect(r.body.isEmpty)
        r.progress.chunkedBody = true
        r.bodyEnded(pool: pool)
        #expect(r.body.isEmpty, "no last chunk for a dropped body")
    }

    @Test func fieldAndDataBytesAreCounted() {
        var r = request()
        #expect(add(&r, ":method", "GET"))
        #expect(r.progress.bytesFromClient == 7 + 3 + 4)
        #expect(receive(&r, "12345"))
        #expect(r.progress.bytesFromClient == 14 + 5)
    }

    /// An oversized head is decoded on (for its 431) until the excess passes three times the limits.
    @Test func anOversizedHeadIsDecodedOnlyWithinThreeTimesTheLimits() {
        var r = request(maxListSize: 100, maxCount: 100)
        var accepted = 0
        // Each field measures 1 + 10 + 32 = 43 toward the list size.
        while add(&r, "a", "0123456789", maxListSize: 100, maxCount: 100) { accepted += 1 }
        #expect(r.fields.problem == .tooLarge)
        // Two fit the limit (86); the third makes the head too large; the excess then stops past 300.
        #expect(accepted >= 2 + 6 && accepted <= 2 + 8)
    }

    @Test func trailersAreBoundedByTheListSize() {
        var r = request()
        // Each measures 1 + 60 + 32 = 93: one fits 100, two do not.
        #expect(trailer(&r, valueLength: 60, maxListSize: 100))
        #expect(!trailer(&r, valueLength: 60, maxListSize: 100))
    }

    /// The first refused field is the one the stream is answered with.
    @Test func theFirstRefusedFieldIsKept() {
        var r = request()
        #expect(add(&r, "host", "a.example"))
        #expect(add(&r, "host", "b.example"))
        #expect(add(&r, ":scheme", "ftp"))
        #expect(r.progress.headProblem.map { "\($0.reason)" } == "more than one host field")
    }

    /// One assignment empties everything of the previous stream.
    @Test func aRestartKeepsNothingOfThePreviousStream() {
        var r = request()
        #expect(add(&r, "host", "a.example"))
        #expect(add(&r, "host", "b.example"))
        #expect(receive(&r, "abc"))
        r.progress.chunkedBody = true
        r.progress.ended = true
        r.progress.complete = true
        r.dropBody(pool: pool)
        _ = trailer(&r, valueLength: 1, maxListSize: 34)
        r.releaseBuffers(pool: pool)
        r.restart(maxListSize: 4096, maxCount: 100, scratch: pool.take())
        #expect(r.progress.headProblem == nil)
        #expect(r.fields.used == 0)
        #expect(r.body.isEmpty)
        #expect(r.progress.unacknowledged == 0 && r.progress.acknowledgeLater == 0)
        #expect(!r.progress.chunkedBody && !r.progress.ended && !r.progress.complete && !r.progress.discardingBody)
        #expect(r.progress.bytesFromClient == 0)
        #expect(r.scratch != nil)
        #expect(add(&r, "host", "c.example"))
        #expect(r.progress.headProblem == nil, "the host count restarted")
        #expect(trailer(&r, valueLength: 1, maxListSize: 34), "the trailer measure restarted")
    }
}
