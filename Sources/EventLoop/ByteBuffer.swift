// A fixed-capacity byte buffer with read and write cursors, recycled through a per-loop pool.
import Synchronization

/// Bytes live in `[readerIndex, writerIndex)`; free space is `[writerIndex, capacity)`.
/// Not thread-safe: a buffer belongs to one event loop. The cursors move only through `commit`,
/// `consume`, `compact`, `clear` and `rewind(to:)`, which check their arguments in debug builds.
public final class ByteBuffer {
    public let capacity: Int
    public let base: UnsafeMutableRawPointer
    public private(set) var readerIndex = 0
    public private(set) var writerIndex = 0

    init(capacity: Int) {
        self.capacity = capacity
        self.base = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
    }

    deinit { base.deallocate() }

    @inline(__always) public var readableCount: Int { writerIndex - readerIndex }
    @inline(__always) public var isEmpty: Bool { readerIndex == writerIndex }
    @inline(__always) public var writableCount: Int { capacity - writerIndex }

    @inline(__always) public var readable: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + readerIndex, count: writerIndex - readerIndex)
    }
    @inline(__always) public var writable: UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: base + writerIndex, count: capacity - writerIndex)
    }

    /// Drops `n` bytes from the front of the readable ones (all of them resets both cursors to 0).
    @inline(__always) public func consume(_ n: Int) {
        assert(n >= 0 && n <= readableCount, "consume(\(n)) of \(readableCount) readable bytes")
        readerIndex += n
        if readerIndex == writerIndex { readerIndex = 0; writerIndex = 0 }
    }

    /// Makes `n` bytes written into `writable` part of the readable ones.
    @inline(__always) public func commit(_ n: Int) {
        assert(n >= 0 && n <= writableCount, "commit(\(n)) into \(writableCount) writable bytes")
        writerIndex += n
    }

    public func clear() { readerIndex = 0; writerIndex = 0 }

    /// Makes the first `end` bytes readable again, from the start: a message written once at the front
    /// of a cleared buffer and then sent (consumed) can be sent again, e.g. a request head on a retry.
    /// Valid only while nothing else was written: the buffer holds that message, whole or consumed.
    public func rewind(to end: Int) {
        assert(end >= 0 && end <= capacity, "rewind(to: \(end)) past the capacity \(capacity)")
        assert(writerIndex == 0 || writerIndex == end, "rewind(to: \(end)) over other bytes (writer at \(writerIndex))")
        readerIndex = 0
        writerIndex = end
    }

    /// Moves the readable bytes to the front so the free space is contiguous again.
    public func compact() {
        guard readerIndex > 0 else { return }
        let n = readableCount
        if n > 0 { base.copyMemory(from: base + readerIndex, byteCount: n) }
        readerIndex = 0
        writerIndex = n
    }

    /// Appends bytes; returns false (and writes nothing) when they do not fit.
    @discardableResult
    public func append(_ bytes: UnsafeRawBufferPointer) -> Bool {
        if bytes.count > writableCount { compact() }
        guard bytes.count <= writableCount else { return false }
        if let src = bytes.baseAddress { (base + writerIndex).copyMemory(from: src, byteCount: bytes.count) }
        writerIndex += bytes.count
        return true
    }
}

/// Per-loop free list of equally sized buffers: a connection takes buffers while it moves bytes
/// and gives them back when idle, so idle keep-alive connections cost no buffer memory.
///
/// The free list keeps what recent use needs: `trim()`, called by the loop about once a second while
/// the pool owns buffers, frees those that stayed in the list since the previous trim (not one of them
/// was taken: the period's peak use never reached them). A burst of slow requests no longer leaves
/// its buffers cached for good, and a steady load keeps every buffer it cycles through.
public final class BufferPool {
    public let bufferSize: Int
    private var free: [ByteBuffer] = []
    private let maxCached: Int
    /// The fewest buffers the free list held since the last trim: that many went unused the whole period.
    private var unusedSinceTrim = 0
    /// Buffers this pool allocated and has not freed: in use plus free.
    public private(set) var ownedCount = 0
    /// Called when the pool allocates a buffer while no trim is scheduled: the owner schedules `trim()`
    /// (and calls `trimStopped()` when it stops scheduling it). Only on the allocation path.
    public var onGrowth: (() -> Void)?
    private var trimScheduled = false
    /// The bytes this pool owns, for /metrics; written only when a buffer is allocated or freed.
    public let gauge = BufferPoolGauge()

    public init(bufferSize: Int, maxCached: Int = 1024) {
        self.bufferSize = bufferSize
        self.maxCached = maxCached
        free.reserveCapacity(maxCached)
    }

    /// Buffers in the free list now.
    public var freeCount: Int { free.count }

    @inline(__always)
    public func take() -> ByteBuffer {
        if let b = free.popLast() {
            if free.count < unusedSinceTrim { unusedSinceTrim = free.count }
            return b
        }
        return allocate()
    }

    @inline(never)
    private func allocate() -> ByteBuffer {
        ownedCount += 1
        publish()
        if !trimScheduled, let onGrowth {
            trimScheduled = true
            onGrowth()
        }
        return ByteBuffer(capacity: bufferSize)
    }

    @inline(__always)
    public func give(_ buffer: consuming ByteBuffer) {
        buffer.clear()
        if free.count < maxCached {
            free.append(buffer)
        } else {
            ownedCount -= 1
            publish()
        }
    }

    /// Gives back the buffer a connection holds in `slot`, if any, leaving the slot empty (moved, not copied).
    @inline(__always)
    public func give(from slot: inout ByteBuffer?) {
        if let buffer = slot.take() { give(buffer) }
    }

    /// Frees the buffers that stayed free since the previous trim, the coldest ones (the list is taken
    /// from its end), and starts the next period; returns how many were freed.
    @discardableResult
    public func trim() -> Int {
        let unused = unusedSinceTrim
        if unused > 0 {
            free.removeFirst(unused)
            ownedCount -= unused
            publish()
        }
        unusedSinceTrim = free.count
        return unused
    }

    /// The owner no longer schedules `trim()` (the pool owns nothing): the next allocation asks again.
    public func trimStopped() { trimScheduled = false }

    private func publish() { gauge.bytes.store(ownedCount * bufferSize, ordering: .relaxed) }
}

/// A pool's owned bytes (in use and free), read by other threads for /metrics.
public final class BufferPoolGauge: Sendable {
    public let bytes = Atomic<Int>(0)
}
