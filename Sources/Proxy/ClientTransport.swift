// How a connection's bytes travel, a client's or an upstream's: straight on the socket, or through a TLS session on it.
import EventLoop
import TLS

/// Reads and writes with the socket's own semantics whatever the transport, so the exchange code
/// keeps one rule for edge-triggered epoll: a short read means drained, a short write means full.
/// For TLS that takes looping: a single SSL_read returns at most one record (a short read that does
/// not mean the socket is drained), a single SSL_write at most one record with partial writes on.
enum ClientTransport {
    case plain(SocketDescriptor)
    case tls(SocketDescriptor, TLSSession)

    var isTLS: Bool {
        if case .tls = self { return true }
        return false
    }

    var fd: SocketDescriptor {
        switch self {
        case .plain(let fd), .tls(let fd, _): return fd
        }
    }

    /// `.value(0)` is the end of the stream.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> IOResult<Int> {
        switch self {
        case .plain(let fd):
            return try fd.read(into: buffer)
        case .tls(_, let session):
            var total = 0
            while total < buffer.count {
                switch try session.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[total...])) {
                case .bytes(0): return .value(total)  // close_notify or EOF: reported (0) on the next call
                case .bytes(let n): total += n
                // A key update may ask to write during a read; the socket is writable in practice, and
                // the next read event retries.
                case .wantRead, .wantWrite: return total == 0 ? .wouldBlock : .value(total)
                }
            }
            return .value(total)
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws -> IOResult<Int> {
        try write(bytes, UnsafeRawBufferPointer(start: nil, count: 0))
    }

    /// Head and body in one go: one `sendmsg` in the clear, consecutive records under TLS.
    func write(_ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer) throws -> IOResult<Int> {
        switch self {
        case .plain(let fd):
            return second.count == 0 ? try fd.write(first) : try fd.write(first, second)
        case .tls(_, let session):
            // Two calls rather than a loop over [first, second]: no array per write.
            let a = try Self.writeAll(first, session)
            if a.blocked || second.count == 0 { return a.written == 0 && a.blocked ? .wouldBlock : .value(a.written) }
            let b = try Self.writeAll(second, session)
            let total = a.written + b.written
            return total == 0 && b.blocked ? .wouldBlock : .value(total)
        }
    }

    /// Writes `part` record by record until done or the socket is full.
    private static func writeAll(_ part: UnsafeRawBufferPointer, _ session: TLSSession) throws -> (written: Int, blocked: Bool) {
        var offset = 0
        while offset < part.count {
            switch try session.write(UnsafeRawBufferPointer(rebasing: part[offset...])) {
            case .bytes(let n) where n > 0: offset += n
            default: return (offset, true)
            }
        }
        return (offset, false)
    }

    /// Writes `out`'s readable bytes, consuming what the socket took; `writable` turns false when it
    /// took less than all (or nothing). Returns the count written.
    func write(_ out: ByteBuffer, writable: inout Bool) throws -> Int {
        switch try write(out.readable) {
        case .wouldBlock:
            writable = false
            return 0
        case .value(let n):
            if n < out.readableCount { writable = false }
            out.consume(n)
            return n
        }
    }

    /// Ends our side: close_notify for TLS, then FIN.
    func shutdownWrite() {
        if case .tls(_, let session) = self { session.shutdown() }
        fd.shutdownWrite()
    }
}
