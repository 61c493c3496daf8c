// The socket steps both kinds of HTTP/2 connection (a client's, an upstream's) take alike: one read into the input buffer, the pending output written.
import EventLoop

extension ClientTransport {
    /// One read into `buffer`'s free space: the count read (0: the peer closed), or nil when the socket
    /// had nothing. `readable` turns false when the socket is drained: nothing read, or a short read
    /// (unless the peer hung up: the next read then sees the end).
    func read(into buffer: ByteBuffer, readable: inout Bool, peerHungUp: Bool) throws -> Int? {
        let space = buffer.writableCount
        switch try read(into: buffer.writable) {
        case .wouldBlock:
            readable = false
            return nil
        case .value(let n):
            buffer.commit(n)
            if n > 0 && n < space && !peerHungUp { readable = false }
            return n
        }
    }

    /// Writes what `pending` holds: the count written, and whether it all went out so that more frames
    /// may follow (false: the socket took less, or was not writable; `writable` is then false).
    func writePending(_ pending: ByteBuffer?, writable: inout Bool) throws -> (written: Int, done: Bool) {
        guard let pending, !pending.isEmpty else { return (0, true) }
        guard writable else { return (0, false) }
        let n = try write(pending, writable: &writable)
        return (n, writable)
    }
}

extension BufferPool {
    /// The buffer in `slot`, emptied for the next bytes; a buffer of the pool put there if it held none.
    func emptied(_ slot: inout ByteBuffer?) -> ByteBuffer {
        let buffer = slot ?? take()
        slot = buffer
        buffer.clear()
        return buffer
    }
}
