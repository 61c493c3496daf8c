// A FIFO of pooled buffers holding one HTTP/2 stream's bytes in transit (request body or response DATA), bounded by the stream's window.
import EventLoop

struct BufferQueue {
    private var buffers: [ByteBuffer] = []

    var isEmpty: Bool { buffers.isEmpty }
    /// The bytes at the front, to write out; `consumeFront` says how many went.
    var front: UnsafeRawBufferPointer { buffers.first?.readable ?? UnsafeRawBufferPointer(start: nil, count: 0) }

    /// Appends `bytes`, taking buffers from `pool` as the last one fills.
    mutating func append(_ bytes: UnsafeRawBufferPointer, pool: BufferPool) {
        var rest = bytes
        while rest.count > 0 {
            if buffers.last.map({ $0.writableCount == 0 }) ?? true { buffers.append(pool.take()) }
            let last = buffers[buffers.count - 1]
            let n = min(rest.count, last.writableCount)
            _ = last.append(UnsafeRawBufferPointer(rebasing: rest[0..<n]))
            rest = UnsafeRawBufferPointer(rebasing: rest[n...])
        }
    }

    /// Puts a buffer of bytes back at the front (a resend).
    mutating func prepend(_ buffer: ByteBuffer) {
        buffers.insert(buffer, at: 0)
    }

    /// `n` bytes of `front` were written. An emptied front buffer goes back to `pool`, unless it is
    /// the only one and has room: it is kept, cleared, for the next bytes.
    mutating func consumeFront(_ n: Int, pool: BufferPool) {
        guard n > 0, let first = buffers.first else { return }
        first.consume(n)
        guard first.isEmpty else { return }
        if buffers.count > 1 || first.writableCount == 0 {
            pool.give(buffers.removeFirst())
        } else {
            first.clear()
        }
    }

    /// Moves up to `out.count` bytes from the front into `out`, giving emptied buffers back to `pool`.
    mutating func take(into out: UnsafeMutableRawBufferPointer, pool: BufferPool) -> Int {
        var n = 0
        while n < out.count, let first = buffers.first {
            let k = min(first.readableCount, out.count - n)
            (out.baseAddress! + n).copyMemory(from: first.readable.baseAddress!, byteCount: k)
            first.consume(k)
            n += k
            if first.isEmpty { pool.give(buffers.removeFirst()) }
        }
        return n
    }

    /// Gives every buffer back (the bytes are dropped), keeping the array's capacity.
    mutating func release(pool: BufferPool) {
        for b in buffers { pool.give(b) }
        buffers.removeAll(keepingCapacity: true)
    }
}
