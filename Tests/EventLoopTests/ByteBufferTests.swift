// The byte buffer's cursors: what commit, consume, compact and rewind(to:) leave readable, and the misuse they refuse.
import Testing
@testable import EventLoop

@Suite struct ByteBufferTests {
    private func write(_ text: String, into buffer: ByteBuffer) {
        let bytes = Array(text.utf8)
        bytes.withUnsafeBytes { #expect(buffer.append($0)) }
    }

    private func readable(_ buffer: ByteBuffer) -> String { String(decoding: buffer.readable, as: UTF8.self) }

    @Test func commitAndConsumeMoveTheCursors() {
        let buffer = ByteBuffer(capacity: 16)
        let text = Array("hello".utf8)
        text.withUnsafeBytes { buffer.writable.copyMemory(from: $0) }
        buffer.commit(5)
        #expect(readable(buffer) == "hello")
        #expect(buffer.writableCount == 11)
        buffer.consume(2)
        #expect(readable(buffer) == "llo")
        #expect(buffer.readerIndex == 2)
    }

    @Test func consumingEverythingStartsTheBufferOver() {
        let buffer = ByteBuffer(capacity: 8)
        write("abcdef", into: buffer)
        buffer.consume(6)
        #expect(buffer.isEmpty)
        #expect(buffer.readerIndex == 0 && buffer.writerIndex == 0)
        #expect(buffer.writableCount == 8)
    }

    @Test func compactMovesTheReadableBytesToTheFront() {
        let buffer = ByteBuffer(capacity: 8)
        write("abcdefgh", into: buffer)
        buffer.consume(5)
        #expect(buffer.writableCount == 0)
        buffer.compact()
        #expect(readable(buffer) == "fgh")
        #expect(buffer.writableCount == 5)
    }

    @Test func appendRefusesWhatDoesNotFitAndWritesNothing() {
        let buffer = ByteBuffer(capacity: 4)
        write("ab", into: buffer)
        let long = Array("cde".utf8)
        long.withUnsafeBytes { #expect(!buffer.append($0)) }
        #expect(readable(buffer) == "ab")
    }

    @Test func rewindMakesASentMessageReadableAgain() {
        let buffer = ByteBuffer(capacity: 32)
        write("GET / HTTP/1.1\r\n\r\n", into: buffer)
        let length = buffer.readableCount
        buffer.consume(4)  // partly sent
        buffer.rewind(to: length)
        #expect(readable(buffer) == "GET / HTTP/1.1\r\n\r\n")
        buffer.consume(length)  // all sent: the cursors start over, the bytes stay
        buffer.rewind(to: length)
        #expect(readable(buffer) == "GET / HTTP/1.1\r\n\r\n")
    }

    @Test func consumingMoreThanIsReadableStops() async {
        await #expect(processExitsWith: .failure) {
            let buffer = ByteBuffer(capacity: 8)
            buffer.commit(2)
            buffer.consume(3)
        }
    }

    @Test func committingMoreThanIsWritableStops() async {
        await #expect(processExitsWith: .failure) {
            let buffer = ByteBuffer(capacity: 8)
            buffer.commit(9)
        }
    }

    @Test func rewindingOverOtherBytesStops() async {
        await #expect(processExitsWith: .failure) {
            let buffer = ByteBuffer(capacity: 16)
            buffer.commit(10)
            buffer.rewind(to: 4)
        }
    }

    @Test func thePoolHandsBackClearedBuffers() {
        let pool = BufferPool(bufferSize: 16, maxCached: 1)
        let first = pool.take()
        first.commit(3)
        pool.give(first)
        let again = pool.take()
        #expect(again === first)
        #expect(again.isEmpty && again.writableCount == 16)
    }
}
