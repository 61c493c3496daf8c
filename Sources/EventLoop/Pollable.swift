// The base of every object the reactor dispatches to: a registration id and intrusive deadline links.

/// Subclasses (listeners, client and upstream connections) override the handlers.
/// The links let a `DeadlineList` hold the object without allocating a node.
open class Pollable {
    /// `(generation << 32) | slot` as stored in `epoll_event.data`, 0 when unregistered.
    public internal(set) var registration: UInt64 = 0

    /// Absolute monotonic deadline in ns while on a deadline list.
    public internal(set) var deadline: UInt64 = 0
    // Unmanaged rather than unowned(unsafe): reading an unowned(unsafe) link into a local still retains it.
    var deadlineNext: Unmanaged<Pollable>?
    var deadlinePrev: Unmanaged<Pollable>?
    var deadlineList: Unmanaged<DeadlineList>?

    public init() {}

    // The list does not own its objects: one that goes away while armed must leave no dangling link.
    deinit { cancelDeadline() }

    /// Called with the epoll event mask (EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP, EPOLLRDHUP bits).
    open func handleEvent(_ events: UInt32) {}

    /// Called once when the deadline set on this object passes; the object is already off its list.
    open func handleDeadline() {}

    public var isRegistered: Bool { registration != 0 }
    public var hasDeadline: Bool { deadlineList != nil }
}
