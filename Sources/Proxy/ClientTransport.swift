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
                let result: TLSIO
                do { result = try session.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[total...])) } catch {
                    // Records decrypted before the error are the peer's bytes: a body framed by its length
                    // may be complete in them (an upstream's FIN without close_notify right behind its
                    // last record). The session keeps its error and throws it on the next read.
                    if total > 0 { return .value(total) }
                    throw error
                }
                switch result {
                case .bytes(0): return .value(total)  // close_notify or EOF: reported (0) on the next call
                case .bytes(let n): total += n
                // A read that wants to write is reported as "no more input now". A server session
                // never gets one (OpenSSL sends a KeyUpdate's reply with the next write, and
                // renegotiation is off); a client session may, if a TLS 1.2 upstream renegotiates,
                // and then waits for the upstream's next bytes or its timeout.
                case .wantRead, .wantWrite: return total == 0 ? .wouldBlock : .value(total)
                }
            }
            return .value(total)
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws -> IOResult<Int> {
        try write(bytes, UnsafeRawBufferPointer(start: nil, count: 0), scratch: UnsafeMutableRawBufferPointer(start: nil, count: 0))
    }

    /// Head and body in one go: one `sendmsg` in the clear. Under TLS the head and as much of the
    /// body as fits one record are copied into `scratch` (the loop's, at least one record long) and
    /// written as one record: written apart they were two records and two sends, and the second send
    /// cost as much again as the first (loopback TCP and waking the peer; measured: 3 sends per
    /// HTTPS keep-alive request instead of 2). A retry after `.wouldBlock` passes the same head and
    /// at least the same body, so OpenSSL sees the same bytes again, as it requires.
    func write(
        _ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer,
        scratch: UnsafeMutableRawBufferPointer
    ) throws -> IOResult<Int> {
        switch self {
        case .plain(let fd):
            return second.count == 0 ? try fd.write(first) : try fd.write(first, second)
        case .tls(_, let session):
            // What goes out first (the head, with as much of the body as fits its record), then the rest.
            var lead = first.count > 0 ? first : second
            var rest = first.count > 0 ? second : UnsafeRawBufferPointer(start: nil, count: 0)
            if first.count > 0, second.count > 0, first.count < scratch.count {
                let joinedBody = min(second.count, scratch.count - first.count)
                scratch.baseAddress!.copyMemory(from: first.baseAddress!, byteCount: first.count)
                (scratch.baseAddress! + first.count).copyMemory(from: second.baseAddress!, byteCount: joinedBody)
                lead = UnsafeRawBufferPointer(rebasing: scratch[0..<(first.count + joinedBody)])
                rest = UnsafeRawBufferPointer(rebasing: second[joinedBody...])
            }
            let a = try Self.writeAll(lead, session)
            if a.blocked || rest.isEmpty { return a.written == 0 && a.blocked ? .wouldBlock : .value(a.written) }
            let b = try Self.writeAll(rest, session)
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
        endSession()
        fd.shutdownWrite()
    }

    /// Ends the session before a close: close_notify for TLS; plain TCP needs nothing, close(2)
    /// sends the FIN.
    func endSession() {
        if case .tls(_, let session) = self { session.shutdown() }
    }
}
