// What an HTTP/2 stream is doing with its request, each role's data held by its case: a field exists only in its phase.

/// `H2Stream.exchange`. Starting a role and ending one are single assignments; a relay's data is
/// reachable only through its case, so nothing of one exchange (or one stream) can leak into the next.
///
/// The relays are classes reused with the stream object (`H2Stream.takeHTTP1Relay`/`takeHTTP2Relay`):
/// a stream object serves thousands of streams, and a relay allocated per stream would put two
/// mallocs on every request. A class payload also keeps its identity while the session's callbacks
/// re-enter the stream (a relay copied out of the enum as a struct would be stale in the inner call).
/// The own response is a plain value (no references): copying it out and back costs nothing.
enum H2Exchange {
    /// The request head is arriving (or the stream object is spare).
    case receivingHead
    /// Relayed to an HTTP/1.1 upstream, exactly like a request of an HTTP/1.1 client.
    case relayingHTTP1(H2HTTP1Relay)
    /// Relayed as a stream of a multiplexed HTTP/2 upstream (an arm with `protocol: h2`).
    case relayingHTTP2(H2HTTP2Relay)
    /// Answered with a response of the proxy's own (an error, or no route).
    case answering(H2OwnResponse)
    /// The response went out entirely or was cut, or the stream closed: nothing more is relayed (the
    /// rest of a request body may still arrive, and is dropped).
    case ended

    /// The response head was handed to the client's session.
    var responseStarted: Bool {
        switch self {
        case .receivingHead: return false
        case .relayingHTTP1(let relay): return relay.headSubmitted
        case .relayingHTTP2(let relay): return relay.headDelivered
        case .answering, .ended: return true
        }
    }
}
