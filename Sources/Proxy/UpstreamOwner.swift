// What drives an exchange over an upstream connection: an HTTP/1.1 client connection or an HTTP/2 stream.
import EventLoop

/// The upstream connection forwards its readiness and its deadline to the owner of the exchange
/// it is bound to (a class, not a protocol, so the call stays a vtable dispatch on the hot path).
class UpstreamOwner: Pollable {
    /// The bound upstream connection's readiness flags changed.
    func upstreamReady() {}
    /// The bound upstream connection's connect or response deadline passed.
    func upstreamDeadlinePassed() {}
}
