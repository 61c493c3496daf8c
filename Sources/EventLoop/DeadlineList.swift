// Deadlines of one fixed duration kept in a FIFO: appends arrive in deadline order, so insert, cancel and expiry are O(1).

/// One list per timeout kind (header read, idle, upstream response...). Because every entry of a
/// list is "now + the same duration", the head is always the earliest; no heap or wheel is needed.
/// After a reload changes the duration, entries may be briefly out of order: a later entry at the
/// head delays the ones behind it by at most the change, which is acceptable for timeouts.
public final class DeadlineList {
    public let duration: UInt64
    private var head: Pollable?
    private unowned(unsafe) var tail: Pollable?

    /// No longer handed out for new deadlines (a reload changed the duration): its loop drops it once empty.
    var retired = false

    public init(duration: Duration) { self.duration = duration.nanoseconds }

    public var earliest: UInt64? { head?.deadline }
    public var isEmpty: Bool { head == nil }

    /// (Re)arms `object` to expire `duration` after `now`, moving it from whatever list it was on.
    public func arm(_ object: Pollable, now: UInt64) {
        object.deadlineList?.remove(object)
        object.deadline = now &+ duration
        object.deadlineList = self
        object.deadlinePrev = tail
        object.deadlineNext = nil
        if let t = tail { t.deadlineNext = object } else { head = object }
        tail = object
    }

    public func remove(_ object: Pollable) {
        guard object.deadlineList === self else { return }
        let next = object.deadlineNext
        if let prev = object.deadlinePrev { prev.deadlineNext = next } else { head = next }
        if let n = next { n.deadlinePrev = object.deadlinePrev } else { tail = object.deadlinePrev }
        object.deadlineNext = nil
        object.deadlinePrev = nil
        object.deadlineList = nil
    }

    /// Pops and notifies every object whose deadline is at or before `now`.
    public func expire(now: UInt64) {
        while let first = head, first.deadline <= now {
            remove(first)
            first.handleDeadline()
        }
    }
}

extension Pollable {
    /// Takes the object off its deadline list, if any.
    public func cancelDeadline() { deadlineList?.remove(self) }
}
