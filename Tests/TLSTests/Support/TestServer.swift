// A one-connection TLS server for tests: a listener on 127.0.0.1 and a poll() loop around a TLSSession.
import EventLoop
import Glibc
import TLS

struct TimedOut: Error, CustomStringConvertible {
    var description: String { "test server: deadline passed" }
}

/// An absolute point on the monotonic clock; every wait in a test is bounded by one.
struct Deadline {
    let end: UInt64
    init(seconds: Double) { end = MonotonicClock.nowNanoseconds() + UInt64(seconds * 1e9) }

    /// Milliseconds left for poll(), at least 1 until the deadline passes.
    func remainingMilliseconds() throws -> Int32 {
        let now = MonotonicClock.nowNanoseconds()
        guard now < end else { throw TimedOut() }
        return Int32(max(1, min(Int(Int32.max), Int((end - now) / 1_000_000))))
    }
}

/// Blocks in poll() until `fd` has `events` (or an error/hangup, which the next call reports).
func waitFor(_ fd: Int32, _ events: Int16, until deadline: Deadline) throws {
    var entry = pollfd(fd: fd, events: events, revents: 0)
    while true {
        let rc = poll(&entry, 1, try deadline.remainingMilliseconds())
        if rc > 0 { return }
        if rc < 0 && errno != EINTR { throw Errno.current }
    }
}

/// A non-blocking listening socket on an ephemeral port of 127.0.0.1.
final class TestListener {
    let socket: SocketDescriptor
    let port: UInt16

    init() throws {
        let socket = try SocketDescriptor.listen(on: try SocketAddress.resolve(host: "127.0.0.1", port: 0), backlog: 16)
        self.socket = socket
        port = try socket.localAddress().port
    }

    deinit { socket.close() }

    /// The next client, as a non-blocking socket wrapped in a server TLSSession.
    func accept(context: TLSContext, until deadline: Deadline) throws -> ServerConnection {
        var peer: SocketAddress?
        while true {
            switch try socket.accept(peer: &peer) {
            case .value(let client): return try ServerConnection(socket: client, context: context, deadline: deadline)
            case .wouldBlock: try waitFor(socket.raw, Int16(POLLIN), until: deadline)
            }
        }
    }
}

/// Drives one TLSSession the way an event loop would, with poll() standing in for epoll.
final class ServerConnection {
    let socket: SocketDescriptor
    let session: TLSSession
    let deadline: Deadline
    /// How often the session asked to wait, to show the non-blocking paths were exercised.
    private(set) var wantReads = 0
    private(set) var wantWrites = 0

    init(socket: SocketDescriptor, context: TLSContext, deadline: Deadline) throws {
        self.socket = socket
        self.deadline = deadline
        do { session = try TLSSession(context: context, fd: socket.raw) } catch {
            socket.close()
            throw error
        }
    }

    private func wait(read: Bool) throws {
        if read { wantReads += 1 } else { wantWrites += 1 }
        try waitFor(socket.raw, Int16(read ? POLLIN : POLLOUT), until: deadline)
    }

    func handshake() throws {
        while true {
            switch try session.handshake() {
            case .done: return
            case .wantRead: try wait(read: true)
            case .wantWrite: try wait(read: false)
            }
        }
    }

    /// Plaintext up to and including the blank line that ends an HTTP request head.
    func readRequestHead() throws -> [UInt8] {
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let result = try chunk.withUnsafeMutableBytes { try session.read(into: $0) }
            switch result {
            case .bytes(0): throw FixtureError(description: "EOF before the end of the request head")
            case .bytes(let n):
                received += chunk[..<n]
                if received.count >= 4, received.suffix(4) == [13, 10, 13, 10] { return received }
            case .wantRead: try wait(read: true)
            case .wantWrite: try wait(read: false)
            }
        }
    }

    /// Writes every byte, retrying a blocked write with the same remaining bytes.
    func writeAll(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let result = try bytes.withUnsafeBytes { try session.write(UnsafeRawBufferPointer(rebasing: $0[offset...])) }
            switch result {
            case .bytes(let n): offset += n
            case .wantRead: try wait(read: true)
            case .wantWrite: try wait(read: false)
            }
        }
    }

    /// Reads plaintext until close_notify or EOF; returns how many bytes came.
    @discardableResult
    func readUntilEnd() throws -> Int {
        var total = 0
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let result = try chunk.withUnsafeMutableBytes { try session.read(into: $0) }
            switch result {
            case .bytes(0): return total
            case .bytes(let n): total += n
            case .wantRead: try wait(read: true)
            case .wantWrite: try wait(read: false)
            }
        }
    }

    /// close_notify, FIN, then waits (briefly) for the client's FIN before closing, so no unread
    /// byte turns our close into an RST that could cut off the tail of what the client still reads.
    func close() {
        session.shutdown()
        socket.shutdownWrite()
        var sink = [UInt8](repeating: 0, count: 4096)
        let linger = Deadline(seconds: 2)
        drain: while true {
            let n = sink.withUnsafeMutableBytes { recv(socket.raw, $0.baseAddress, $0.count, 0) }
            if n > 0 { continue }
            if n == 0 { break }
            guard errno == EAGAIN || errno == EINTR, (try? waitFor(socket.raw, Int16(POLLIN), until: linger)) != nil else { break drain }
        }
        socket.close()
    }
}
