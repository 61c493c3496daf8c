// The epoll instance of one loop: registrations carry (generation, slot) so events for a closed-and-reused fd are dropped.
import CLinuxShims
import Glibc

public final class Reactor {
    private let epollFD: Int32
    private var slots: [Pollable?] = []
    private var generations: [UInt32] = []
    private var freeSlots: [UInt32] = []
    private let events: UnsafeMutablePointer<epoll_event>
    private let maxEvents: Int32 = 256
    /// Monotonic time, read once before each dispatched event: handlers stamp with it instead of reading the clock.
    public internal(set) var now: UInt64 = MonotonicClock.nowNanoseconds()

    public init() throws(Errno) {
        epollFD = try checkedSyscall { epoll_create1(Int32(EPOLL_CLOEXEC)) }
        events = .allocate(capacity: Int(maxEvents))
    }

    deinit {
        events.deallocate()
        Glibc.close(epollFD)
    }

    public static let readable = EPOLLIN.rawValue
    public static let writable = EPOLLOUT.rawValue
    public static let readHangup = EPOLLRDHUP.rawValue
    public static let hangup = EPOLLHUP.rawValue
    public static let error = EPOLLERR.rawValue
    public static let edgeTriggered = EPOLLET.rawValue

    /// Registers `fd` for `interest` and dispatches its events to `object` until `deregister`.
    public func register(_ fd: SocketDescriptor, _ object: Pollable, interest: UInt32) throws(Errno) {
        let slot: UInt32
        if let reused = freeSlots.popLast() {
            slot = reused
            slots[Int(slot)] = object
        } else {
            slot = UInt32(slots.count)
            slots.append(object)
            generations.append(1)
        }
        let token = UInt64(generations[Int(slot)]) << 32 | UInt64(slot)
        var ev = epoll_event()
        ev.events = interest
        ev.data.u64 = token
        do {
            _ = try checkedSyscall { epoll_ctl(epollFD, EPOLL_CTL_ADD, fd.raw, &ev) }
        } catch {
            release(slot: slot)
            throw error
        }
        object.registration = token
    }

    /// Changes the interest set of a registered fd (level-triggered users toggle EPOLLOUT this way).
    public func modify(_ fd: SocketDescriptor, _ object: Pollable, interest: UInt32) throws(Errno) {
        var ev = epoll_event()
        ev.events = interest
        ev.data.u64 = object.registration
        _ = try checkedSyscall { epoll_ctl(epollFD, EPOLL_CTL_MOD, fd.raw, &ev) }
    }

    /// Hands `old`'s registration (its fd, interest and token) to `new`: events already fetched or
    /// still to come for the fd go to `new` (a connection switching protocol keeps its socket).
    public func transfer(_ old: Pollable, to new: Pollable) {
        slots[Int(UInt32(truncatingIfNeeded: old.registration))] = new
        new.registration = old.registration
        old.registration = 0
    }

    /// Forgets `object`. The caller closes the fd right after, which removes it from the epoll set
    /// without an extra EPOLL_CTL_DEL; any event already fetched for it is dropped by the generation check.
    public func deregister(_ object: Pollable) {
        guard object.registration != 0 else { return }
        release(slot: UInt32(truncatingIfNeeded: object.registration))
        object.registration = 0
    }

    private func release(slot: UInt32) {
        slots[Int(slot)] = nil
        generations[Int(slot)] &+= 1
        if generations[Int(slot)] == 0 { generations[Int(slot)] = 1 }
        freeSlots.append(slot)
    }

    /// Calls `body` with every registered object (drain walks the connections this way).
    public func forEachRegistered(_ body: (Pollable) -> Void) {
        for case let object? in slots { body(object) }
    }

    /// Waits up to `timeoutMilliseconds` (-1: forever) and dispatches every ready event.
    public func poll(timeoutMilliseconds: Int32) throws(Errno) {
        let result = try retryingSyscall { epoll_wait(epollFD, events, maxEvents, timeoutMilliseconds) }
        guard case .value(let count) = result else { return }
        for i in 0..<Int(count) {
            let ev = events[i]
            let token = ev.data.u64
            let slot = Int(UInt32(truncatingIfNeeded: token))
            guard slot < slots.count, UInt64(generations[slot]) == token >> 32, let object = slots[slot] else { continue }
            now = MonotonicClock.nowNanoseconds()
            object.handleEvent(ev.events)
        }
    }
}
