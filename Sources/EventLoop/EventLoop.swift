// One event-loop thread's core: its reactor, buffer pool and deadline lists, and the wake-up eventfd other threads poke.
import CLinuxShims
import Glibc
import Synchronization

/// The thread-safe face of a loop: other threads may only wake it (and ask it to stop).
public final class EventLoopHandle: Sendable {
    let wakeFD: Int32
    let stopRequested = Atomic<Bool>(false)
    /// The bytes the loop's buffer pool owns (see `BufferPool.trim`), for /metrics.
    public let buffers: BufferPoolGauge

    init(wakeFD: Int32, buffers: BufferPoolGauge) {
        self.wakeFD = wakeFD
        self.buffers = buffers
    }

    /// Makes the loop return from epoll_wait and run its `onWake` callback.
    public func wake() {
        var one: UInt64 = 1
        _ = Glibc.write(wakeFD, &one, 8)
    }

    public func requestStop() {
        stopRequested.store(true, ordering: .releasing)
        wake()
    }
}

/// Created on, and used only by, its own thread.
public final class EventLoop {
    public let reactor: Reactor
    public let buffers: BufferPool
    public let handle: EventLoopHandle
    /// Monotonic time of the event being handled (see `Reactor.now`).
    @inline(__always) public var now: UInt64 { reactor.now }
    /// Runs on the loop after another thread called `handle.wake()`.
    public var onWake: (() -> Void)?
    /// Runs after each batch of events and expired deadlines: work deferred by the handlers.
    public var afterEvents: (() -> Void)?
    private var deadlineLists: [DeadlineList] = []
    private var hasRetiredDeadlineLists = false
    private let wakeReader: WakeReader

    public init(bufferSize: Int) throws(Errno) {
        reactor = try Reactor()
        buffers = BufferPool(bufferSize: bufferSize)
        let fd = try checkedSyscall { eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC)) }
        handle = EventLoopHandle(wakeFD: fd, buffers: buffers.gauge)
        wakeReader = WakeReader(fd: fd)
        wakeReader.loop = self
        try reactor.register(SocketDescriptor(raw: fd), wakeReader, interest: Reactor.readable)
    }

    deinit { Glibc.close(handle.wakeFD) }

    /// A deadline list for timeouts of `duration`; lists of equal duration are shared.
    public func deadlineList(for duration: Duration) -> DeadlineList {
        let ns = duration.nanoseconds
        if let existing = deadlineLists.first(where: { $0.duration == ns }) {
            existing.retired = false
            return existing
        }
        let list = DeadlineList(duration: duration)
        deadlineLists.append(list)
        return list
    }

    /// Marks every list but `inUse` retired: each is dropped once its last deadline is gone, so
    /// reloads that change timeouts do not leave the loop checking ever more empty lists.
    public func retireDeadlineLists(except inUse: [DeadlineList]) {
        for list in deadlineLists { list.retired = !inUse.contains { $0 === list } }
        dropRetiredDeadlineLists()
    }

    /// How many lists the loop checks on each turn (retired ones included until empty).
    public var deadlineListCount: Int { deadlineLists.count }

    func dropRetiredDeadlineLists() {
        deadlineLists.removeAll { $0.retired && $0.isEmpty }
        hasRetiredDeadlineLists = deadlineLists.contains { $0.retired }
    }

    /// Runs until `handle.requestStop()`.
    public func run() {
        while !handle.stopRequested.load(ordering: .acquiring) {
            do {
                try reactor.poll(timeoutMilliseconds: nextTimeoutMilliseconds())
            } catch {
                // epoll_wait fails only on programming errors (EBADF/EINVAL); stop rather than spin.
                return
            }
            reactor.now = MonotonicClock.nowNanoseconds()
            for list in deadlineLists { list.expire(now: reactor.now) }
            if hasRetiredDeadlineLists { dropRetiredDeadlineLists() }
            afterEvents?()
        }
    }

    private func nextTimeoutMilliseconds() -> Int32 {
        var earliest = UInt64.max
        for list in deadlineLists { if let e = list.earliest, e < earliest { earliest = e } }
        if earliest == .max { return 1000 }
        let current = MonotonicClock.nowNanoseconds()
        if earliest <= current { return 0 }
        // Round up so a deadline is never checked a hair early and the loop does not spin.
        return Int32(min((earliest - current + 999_999) / 1_000_000, 1000))
    }

    fileprivate func drainWake() {
        var value: UInt64 = 0
        _ = Glibc.read(handle.wakeFD, &value, 8)
        onWake?()
    }
}

private final class WakeReader: Pollable {
    let fd: Int32
    unowned(unsafe) var loop: EventLoop?
    init(fd: Int32) { self.fd = fd }
    override func handleEvent(_ events: UInt32) { loop?.drainWake() }
}
