// The etcd gateway's HTTP/1.1 responses read from bytes: framing by length and by chunks, split anywhere, and cut short.
import Testing

@testable import Cluster

@Suite struct GatewayResponseReaderTests {
    /// What etcd sends for a refused request: chunked, with a trailer after the body.
    static let chunkedRefusal = Array(
        ("HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nTrailer: Grpc-Trailer-Content-Type\r\n"
            + "Transfer-Encoding: chunked\r\n\r\n"
            + "1a\r\n{\"error\":\"lease not found\"\r\n"
            + "b\r\n,\"code\":5}\n\r\n"
            + "0\r\nGrpc-Trailer-Content-Type: application/grpc\r\n\r\n").utf8)

    /// Feeds `chunks` in order; the body and the progress after each.
    static func read(
        _ chunks: [[UInt8]]
    ) throws(EtcdError) -> (reader: GatewayResponseReader, body: [UInt8], progress: [GatewayResponseReader.Progress]) {
        var reader = GatewayResponseReader()
        var body: [UInt8] = []
        var progress: [GatewayResponseReader.Progress] = []
        for chunk in chunks {
            progress.append(try chunk.withBytes { bytes throws(EtcdError) in try reader.feed(bytes) { body += $0 } })
        }
        return (reader, body, progress)
    }

    @Test func aContentLengthResponseEndsAfterItsLength() throws {
        let response = Array("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}".utf8)
        let (reader, body, progress) = try Self.read([response])
        #expect(progress == [.done])
        #expect(reader.status == 200 && reader.keepAlive)
        #expect(body == Array("{\"a\":1}".utf8))
    }

    @Test func aChunkedResponseSplitAtEveryByteDecodesTheSameAndEndsOnItsLastByte() throws {
        let whole = Self.chunkedRefusal
        let expected = Array("{\"error\":\"lease not found\",\"code\":5}\n".utf8)
        for split in 1..<whole.count {
            let (reader, body, progress) = try Self.read([Array(whole[..<split]), Array(whole[split...])])
            #expect(progress == [.needMore, .done], "split at \(split)")
            #expect(body == expected, "split at \(split)")
            #expect(reader.status == 404 && reader.keepAlive)
        }
        // One byte at a time: done only once the trailer section's final CRLF arrived.
        let (_, body, progress) = try Self.read(whole.map { [$0] })
        #expect(body == expected)
        #expect(progress.dropLast().allSatisfy { $0 == .needMore } && progress.last == .done)
    }

    @Test func anOpenStreamHandsOverEachChunkAsItArrives() throws {
        let head = Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)
        let (reader, body, progress) = try Self.read([head, Array("5\r\n{\"a\"}\r\n".utf8)])
        #expect(progress == [.needMore, .needMore])
        #expect(reader.status == 200)
        #expect(body == Array("{\"a\"}".utf8))
    }

    @Test func connectionCloseOrBytesPastTheResponseForbidReuse() throws {
        let closing = Array("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}".utf8)
        #expect(try !Self.read([closing]).reader.keepAlive)
        let extra = Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}HTTP/1.1".utf8)
        let (reader, body, progress) = try Self.read([extra])
        #expect(progress == [.done] && body == Array("{}".utf8))
        #expect(!reader.keepAlive)
    }

    @Test func aCloseEndsOnlyABodyFramedByTheClose() throws {
        var untilClose = try Self.read([Array("HTTP/1.1 200 OK\r\n\r\n{}".utf8)]).reader
        try untilClose.finishAtClose()
        #expect(!untilClose.keepAlive)

        var cut = try Self.read([Array("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}".utf8)]).reader
        #expect(throws: EtcdError.malformed("connection closed inside the response body")) { try cut.finishAtClose() }
        var nothing = GatewayResponseReader()
        #expect(throws: EtcdError.malformed("connection closed before a response")) { try nothing.finishAtClose() }
        #expect(!nothing.receivedAny)
    }

    @Test func anInvalidHeadOrChunkIsMalformed() {
        #expect(throws: EtcdError.self) { try Self.read([Array("HTTP/1.1 2OO OK\r\n\r\n".utf8)]) }
        #expect(throws: EtcdError.self) { try Self.read([Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n".utf8)]) }
        #expect(throws: EtcdError.self) { try Self.read([Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)]) }
    }
}
