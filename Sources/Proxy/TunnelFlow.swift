// The byte tunnel after a switch of protocols, as a value: per direction what to do next, when it is done, when it idled out.

/// A tunnel moves bytes both ways between the client and the upstream once the upstream agreed to
/// switch protocols (a 101 for HTTP/1.1, a 200 to an HTTP/2 extended CONNECT). Each direction holds
/// at most what one read brought: its source is read only once that was all written to the other side
/// (back-pressure: a side whose peer does not take bytes is not read). An end of stream from one side
/// becomes a shutdown of the other side's write once the bytes before it are written (a half-close, as
/// TCP has it); the tunnel is done when both directions are shut.
///
/// No timer per byte: the idle deadline is armed once, and when it passes `idleCheck` tells from the
/// time of the last byte whether the tunnel idled out or the deadline is to be armed again.
struct TunnelFlow: Equatable {
    enum Direction: Equatable {
        /// Client → upstream.
        case toUpstream
        /// Upstream → client.
        case toClient
    }

    /// How far a direction got.
    enum Leg: Equatable {
        case open
        /// Its source ended: what it still holds is written, then its destination's write is shut.
        case ended
        /// Its destination's write is shut: nothing more goes this way.
        case shut
    }

    /// What a direction does next.
    enum Step: Equatable {
        /// Read its source (it holds nothing).
        case read
        /// Write what it holds to its destination.
        case write
        /// Shut its destination's write (its source ended and everything was written).
        case shutdown
        /// Nothing: the direction is finished.
        case finished
    }

    enum IdleCheck: Equatable {
        /// No byte for the whole timeout: the tunnel closes.
        case expired
        /// A byte moved since the deadline was armed: arm it again, to expire `timeout` after that byte.
        case rearm(from: UInt64)
    }

    private(set) var toUpstream = Leg.open
    private(set) var toClient = Leg.open
    /// When the tunnel opened (monotonic nanoseconds): its duration is counted from here.
    let openedAt: UInt64
    /// When the last byte was read from either side (or the tunnel opened).
    private(set) var lastActivity: UInt64

    init(now: UInt64) {
        openedAt = now
        lastActivity = now
    }

    func leg(_ direction: Direction) -> Leg { direction == .toUpstream ? toUpstream : toClient }

    /// The next step of `direction`, which holds `pending` bytes not yet written.
    func next(_ direction: Direction, pending: Int) -> Step {
        switch leg(direction) {
        case .open: pending > 0 ? .write : .read
        case .ended: pending > 0 ? .write : .shutdown
        case .shut: .finished
        }
    }

    /// A read from `direction`'s source brought `count` bytes at `now`; 0 is its end of stream.
    mutating func received(_ direction: Direction, count: Int, now: UInt64) {
        if count > 0 {
            lastActivity = now
        } else if leg(direction) == .open {
            set(direction, .ended)
        }
    }

    /// `direction`'s destination write was shut (after its `.shutdown` step).
    mutating func shutDown(_ direction: Direction) { set(direction, .shut) }

    /// Both directions are shut: both sockets can close.
    var isDone: Bool { toUpstream == .shut && toClient == .shut }

    /// The idle deadline (`timeout` nanoseconds) passed at `now`.
    func idleCheck(now: UInt64, timeout: UInt64) -> IdleCheck {
        now &- lastActivity >= timeout ? .expired : .rearm(from: lastActivity)
    }

    private mutating func set(_ direction: Direction, _ leg: Leg) {
        if direction == .toUpstream { toUpstream = leg } else { toClient = leg }
    }
}
