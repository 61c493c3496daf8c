// One event loop's access-log lines on their way to the writer thread: a single-producer single-consumer byte ring.
import Glibc
import Synchronization

/// The loop (the only producer) formats a line in place at the ring's head and publishes it with one
/// release store; the writer thread (the only consumer) copies published bytes out and frees them with
/// another. No lock, no allocation after `init`, and the loop never waits: when the free space cannot
/// hold a line of the largest size, the line is dropped and counted.
///
/// Positions are byte counts since the start (they never wrap in practice: 2^63 bytes); the byte of
/// position p lives at `p & (capacity - 1)`. A line is formatted contiguously even across the end of
/// the storage: the storage has `maxLine` spare bytes past `capacity`, and what a line wrote there is
/// copied to the start when it is committed. The consumer reads only `0..<capacity`.
public final class AccessLogRing: @unchecked Sendable {
    public let capacity: Int
    /// The most bytes a line may take (`AccessLogLine` keeps each within it).
    public let maxLine: Int
    private let storage: UnsafeMutableRawPointer
    /// Bytes published by the producer (written by it only, release; read by the consumer, acquire).
    private let head = Atomic<Int>(0)
    /// Bytes taken by the consumer (written by it only, release; read by the producer, acquire).
    private let tail = Atomic<Int>(0)
    private let droppedLines = Atomic<UInt64>(0)
    /// Free space is re-read from `tail` only when this cached view says the line may not fit: one
    /// acquire load per many lines instead of one per line.
    private var producerTailView = 0

    /// The writer's eventfd (-1: none), poked when the ring fills past a quarter between its rounds.
    public let wakeDescriptor: Int32

    /// `capacity`: a power of two of at least 2 × `maxLine`.
    init(capacity: Int, maxLine: Int, wakeDescriptor: Int32 = -1) {
        precondition(capacity > 0 && capacity & (capacity - 1) == 0 && capacity >= 2 * maxLine)
        self.capacity = capacity
        self.maxLine = maxLine
        self.wakeDescriptor = wakeDescriptor
        storage = UnsafeMutableRawPointer.allocate(byteCount: capacity + maxLine, alignment: 64)
    }

    /// A ring for the longest line the proxy writes (`AccessLogLine.maxLength`).
    public convenience init(capacity: Int, wakeDescriptor: Int32) {
        self.init(capacity: capacity, maxLine: AccessLogLine.maxLength, wakeDescriptor: wakeDescriptor)
    }

    deinit { storage.deallocate() }

    // MARK: producer (one event loop)

    /// Room for one line of up to `maxLine` bytes at the head, or nil (the line is counted dropped) when
    /// the consumer has not freed that much yet.
    @inline(__always)
    func reserve() -> UnsafeMutableRawPointer? {
        let h = head.load(ordering: .relaxed)
        if capacity - (h - producerTailView) < maxLine {
            producerTailView = tail.load(ordering: .acquiring)
            if capacity - (h - producerTailView) < maxLine {
                droppedLines.add(1, ordering: .relaxed)
                return nil
            }
        }
        return storage + (h & (capacity - 1))
    }

    /// Publishes the `count` bytes written at the last `reserve`. True when the ring just filled past a
    /// quarter of its capacity (as far as the producer knows): the writer should be woken rather than
    /// wait for its next round.
    @inline(__always)
    func commit(_ count: Int) -> Bool {
        let h = head.load(ordering: .relaxed)
        let offset = h & (capacity - 1)
        let spill = offset + count - capacity
        if spill > 0 { storage.copyMemory(from: storage + capacity, byteCount: spill) }
        head.store(h + count, ordering: .releasing)
        let quarter = capacity / 4
        guard h + count - producerTailView >= quarter else { return false }
        // Past a quarter as far as the cached view knows: look at the real tail before waking anyone.
        producerTailView = tail.load(ordering: .acquiring)
        let before = h - producerTailView
        return before < quarter && before + count >= quarter
    }

    // MARK: consumer (the writer thread)

    /// Hands the published bytes, at most `limit`, to `body` (in one or two pieces: the second after
    /// the end of the storage), then frees them. Returns how many were handed over.
    public func drain(limit: Int, _ body: (UnsafeRawBufferPointer) -> Void) -> Int {
        let t = tail.load(ordering: .relaxed)
        let available = min(head.load(ordering: .acquiring) - t, limit)
        guard available > 0 else { return 0 }
        let offset = t & (capacity - 1)
        let first = min(available, capacity - offset)
        body(UnsafeRawBufferPointer(start: storage + offset, count: first))
        if available > first { body(UnsafeRawBufferPointer(start: storage, count: available - first)) }
        tail.store(t + available, ordering: .releasing)
        return available
    }

    /// Bytes published and not yet drained (a consumer's or a test's view).
    public var pendingBytes: Int { head.load(ordering: .acquiring) - tail.load(ordering: .acquiring) }

    /// Lines the producer dropped because the ring was full.
    public var dropped: UInt64 { droppedLines.load(ordering: .relaxed) }
}
