// What an HTTP/2 stream is doing with its request: one assignment starts or ends a role, and a role's data is reached only in its phase.

/// `H2Stream.exchange`. The own response is carried by its case (a plain value: copying it out and
/// back costs nothing). Each relay's data lives in one object per role, owned by the stream object and
/// reused by its streams; outside H2Stream.swift it is reached only through `H2Stream.relayingHTTP1` /
/// `relayingHTTP2`, nil unless the exchange is that case. `start` sets all of a relay's data when its
/// role begins; ending the role (`endExchange`) gives its buffers back.
///
/// Why the relays are not payloads, measured (callgrind, loop thread, per h2c stream, three binaries in
/// one run): relays as class payloads 25,059, as here 24,824, the baseline 24,645. Binding a class
/// payload at a `switch` is a retain and a release (the stored enum may change during the call), ~6
/// pairs and ~235 instructions per stream: 1 % of the 2 % that all of this refactor may cost. A struct
/// payload would be copied out and back around every call that may re-enter the stream, and a relay
/// allocated per stream puts two mallocs on every request. The role objects are `let`s: reading one
/// costs nothing.
enum H2Exchange {
    /// The request head is arriving (or the stream object is spare).
    case receivingHead
    /// Relayed to an HTTP/1.1 upstream, exactly like a request of an HTTP/1.1 client (H2Stream+Exchange).
    case relayingHTTP1
    /// Relayed as a stream of a multiplexed HTTP/2 upstream, an arm with `protocol: h2` (H2Stream+H2Upstream).
    case relayingHTTP2
    /// Answered with a response of the proxy's own (an error, or no route).
    case answering(H2OwnResponse)
    /// The response went out entirely or was cut, or the stream closed: nothing more is relayed (the
    /// rest of a request body may still arrive, and is dropped).
    case ended
}
