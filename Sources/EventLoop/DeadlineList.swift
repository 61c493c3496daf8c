// Deadlines of one fixed duration kept in a FIFO: appends arrive in deadline order, so insert, cancel and expiry are O(1).

/// One list per timeout kind (header read, idle, upstream response...). Because every entry of a
/// list is "now + the same duration", the head is always the earliest; no heap or wheel is needed.
/// After a reload changes the duration, entries may be briefly out of order: a later entry at the
/// head delays the ones behind it by at most the change, which is acceptable for timeouts.
///
/// The links are unowned: arming and cancelling run several times per request, and strong links cost a
/// retain and a release each (measured: ~20 of each per HTTP/2 stream). Whoever owns an object owns it
/// without the list; an object that goes away unlinks itself (Pollable's deinit), as does a list that goes
/// away before its objects.
public final class DeadlineList {
    public let duration: UInt64
    private var head: Unmanaged<Pollable>?
    private var tail: Unmanaged<Pollable>?

    /// No longer handed out for new deadlines (a reload changed the duration): its loop drops it once empty.
    var retired = false

    public init(duration: Duration) { self.duration = duration.nanoseconds }

    deinit {
        var next = head
        while let link = next {
            next = link._withUnsafeGuaranteedRef { object in
                defer { object.deadlineNext = nil; object.deadlinePrev = nil; object.deadlineList = nil }
                return object.deadlineNext
            }
        }
    }

    public var earliest: UInt64? { head?._withUnsafeGuaranteedRef { $0.deadline } }
    public var isEmpty: Bool { head == nil }

    /// (Re)arms `object` to expire `duration` after `now`, moving it from whatever list it was on.
    public func arm(_ object: Pollable, now: UInt64) {
        object.cancelDeadline()
        let link = Unmanaged.passUnretained(object)
        object.deadline = now &+ duration
        object.deadlineList = Unmanaged.passUnretained(self)
        object.deadlinePrev = tail
        object.deadlineNext = nil
        if let last = tail { last._withUnsafeGuaranteedRef { $0.deadlineNext = link } } else { head = link }
        tail = link
    }

    public func remove(_ object: Pollable) {
        guard object.deadlineList?.toOpaque() == Unmanaged.passUnretained(self).toOpaque() else { return }
        let next = object.deadlineNext, prev = object.deadlinePrev
        if let before = prev { before._withUnsafeGuaranteedRef { $0.deadlineNext = next } } else { head = next }
        if let after = next { after._withUnsafeGuaranteedRef { $0.deadlinePrev = prev } } else { tail = prev }
        object.deadlineNext = nil
        object.deadlinePrev = nil
        object.deadlineList = nil
    }

    /// Pops and notifies every object whose deadline is at or before `now`.
    public func expire(now: UInt64) {
        // A strong reference while the handler runs: it may drop the object's last owner.
        while let first = head?.takeUnretainedValue(), first.deadline <= now {
            remove(first)
            first.handleDeadline()
        }
    }
}

extension Pollable {
    /// Takes the object off its deadline list, if any.
    public func cancelDeadline() { deadlineList?._withUnsafeGuaranteedRef { $0.remove(self) } }
}
