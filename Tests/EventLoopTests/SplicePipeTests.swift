// SplicePipe over a real loopback TCP pair: a fill never takes more than asked, a drain delivers, and the pool keeps only empty pipes.
import Glibc
import Testing

@testable import EventLoop

/// `.value(n)` as n, `.wouldBlock` as nil.
private func count(_ result: IOResult<Int>) -> Int? {
    if case .value(let n) = result { return n }
    return nil
}

@Suite struct SplicePipeTests {
    /// A connected loopback pair: (the side a test writes, the side the pipe reads).
    private func tcpPair() throws -> (SocketDescriptor, SocketDescriptor, SocketDescriptor) {
        let listener = try SocketDescriptor.listen(on: try SocketAddress.resolve(host: "127.0.0.1", port: 0))
        let (writer, _) = try SocketDescriptor.connect(to: try listener.localAddress())
        var peer: SocketAddress?
        for _ in 0..<1000 {
            if case .value(let reader) = try listener.accept(peer: &peer) { return (writer, reader, listener) }
            usleep(1000)
        }
        throw Errno(ETIMEDOUT)
    }

    private func send(_ bytes: [UInt8], on fd: SocketDescriptor) throws {
        _ = try bytes.withUnsafeBytes { try fd.write($0) }
    }

    /// Fills until the pipe took `count` bytes (loopback delivery is immediate, but polled for safety).
    private func fill(_ pipe: SplicePipe, from fd: SocketDescriptor, count: Int) throws -> Int {
        for _ in 0..<1000 {
            if case .value(let n) = try pipe.fill(from: fd, count: count) { return n }
            usleep(1000)
        }
        return 0
    }

    @Test func aFillTakesNoMoreThanAskedAndLeavesTheRestInTheSocket() throws {
        let (writer, reader, listener) = try tcpPair()
        defer { writer.close(); reader.close(); listener.close() }
        let pipe = try SplicePipe.open(capacity: SplicePipe.defaultCapacity)
        defer { pipe.close() }
        try send(Array(0..<100), on: writer)
        #expect(try fill(pipe, from: reader, count: 10) == 10)
        var rest = [UInt8](repeating: 0, count: 200)
        let read = try rest.withUnsafeMutableBytes { try reader.read(into: $0) }
        #expect(count(read) == 90)
        #expect(Array(rest[0..<90]) == Array(10..<100))
    }

    @Test func aDrainDeliversWhatTheFillTook() throws {
        let (inWriter, inReader, inListener) = try tcpPair()
        let (outWriter, outReader, outListener) = try tcpPair()
        defer { [inWriter, inReader, inListener, outWriter, outReader, outListener].forEach { $0.close() } }
        let pipe = try SplicePipe.open(capacity: SplicePipe.defaultCapacity)
        defer { pipe.close() }
        let bytes = (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try send(bytes, on: inWriter)
        var held = 0
        while held < bytes.count { held += try fill(pipe, from: inReader, count: bytes.count - held) }
        #expect(count(try pipe.drain(to: outWriter, count: held)) == bytes.count)
        var received: [UInt8] = []
        var scratch = [UInt8](repeating: 0, count: 8192)
        for _ in 0..<1000 where received.count < bytes.count {
            if case .value(let n) = try scratch.withUnsafeMutableBytes({ try outReader.read(into: $0) }) {
                received += scratch[0..<n]
            } else {
                usleep(1000)
            }
        }
        #expect(received == bytes)
    }

    @Test func anEmptyPipeWouldBlockWhenNothingIsThere() throws {
        let (writer, reader, listener) = try tcpPair()
        defer { writer.close(); reader.close(); listener.close() }
        let pipe = try SplicePipe.open(capacity: SplicePipe.defaultCapacity)
        defer { pipe.close() }
        #expect(count(try pipe.fill(from: reader, count: 100)) == nil)
    }

    @Test func aPipeIsResizedWhenAskedAndWithinTheSystemLimit() throws {
        let pipe = try SplicePipe.open(capacity: 256 * 1024)
        defer { pipe.close() }
        #expect(pipe.capacity == 256 * 1024)
    }

    @Test func thePoolKeepsEmptyPipesAndClosesOthers() throws {
        let pool = SplicePipePool(limit: 1)
        let first = try pool.take()
        let second = try pool.take()
        pool.give(first, empty: true)
        #expect(pool.idleCount == 1)
        // Over the limit: closed, not kept.
        pool.give(second, empty: true)
        #expect(pool.idleCount == 1)
        #expect(fcntl(second.readEnd, F_GETFD) == -1)
        let reused = try pool.take()
        #expect(reused.readEnd == first.readEnd && reused.writeEnd == first.writeEnd)
        // Bytes left in it: closed, never pooled.
        pool.give(reused, empty: false)
        #expect(pool.idleCount == 0)
        #expect(fcntl(first.readEnd, F_GETFD) == -1)
    }

    @Test func aTrimClosesThePipesNoTakeReachedSinceThePreviousOne() throws {
        let pool = SplicePipePool(limit: 8)
        let pipes = try (0..<3).map { _ in try pool.take() }
        for pipe in pipes { pool.give(pipe, empty: true) }
        #expect(pool.trim() == 0, "the first trim only starts a period")
        // One taken and given back during the period: the warmest stays, the two colder ones go.
        let warm = try pool.take()
        pool.give(warm, empty: true)
        #expect(pool.trim() == 2)
        #expect(pool.idleCount == 1)
        let left = try pool.take()
        #expect(left.readEnd == warm.readEnd && left.writeEnd == warm.writeEnd)
        pool.give(left, empty: true)
        #expect(pool.trim() == 0, "taken during the period")
        #expect(pool.trim() == 1, "untaken for a whole period")
        #expect(pool.idleCount == 0)
    }

    /// A peer that closed, then reset the bytes sent after its close: the next splice into the socket
    /// fails with EPIPE, which raises SIGPIPE — without the pool's SIG_IGN this test process dies here.
    @Test func aDrainIntoAClosedPeerFailsWithoutEndingTheProcess() throws {
        let pool = SplicePipePool()
        let (inWriter, inReader, inListener) = try tcpPair()
        let (gone, outReader, outListener) = try tcpPair()
        defer { [inWriter, inReader, inListener, outReader, outListener].forEach { $0.close() } }
        let pipe = try pool.take()
        defer { pipe.close() }
        gone.close()
        var failure: Errno?
        for _ in 0..<50 where failure == nil {
            try send([UInt8](repeating: 7, count: 1000), on: inWriter)
            _ = try fill(pipe, from: inReader, count: 1000)
            do {
                _ = try pipe.drain(to: outReader, count: 65536)
                usleep(1000)
            } catch {
                failure = error
            }
        }
        #expect(failure == Errno.brokenPipe || failure == Errno.connectionReset)
    }
}
