// What an HTTP/2 stream is doing with its request: one assignment starts or ends a role, and a role's data is used only in its phase.

/// `H2Stream.exchange`. The own response is carried by its case (a plain value: copying it out and back
/// costs nothing). The relays' data lives in one object per role (`H2Stream.http1Relay`, `http2Relay`),
/// which only the code of that role touches, and only while the case says the role is on: `start` sets
/// all of it when the role begins, and ending the role gives its buffers back.
///
/// Why the relays are not payloads: a class payload costs a retain and a release at every `switch` that
/// binds it (the stream's stored enum may change during the call), ~6 pairs per stream on the h2c path,
/// 1 % of its instructions with the rest of a payload design (callgrind, see the commit); a struct
/// payload would be copied out and back around every call that may re-enter the stream, and a relay
/// allocated per stream puts two mallocs on every request. The role objects are `let`s of the stream
/// object, made with it and reused by all its streams: reading them costs nothing.
enum H2Exchange {
    /// The request head is arriving (or the stream object is spare).
    case receivingHead
    /// Relayed to an HTTP/1.1 upstream, exactly like a request of an HTTP/1.1 client (`http1Relay`).
    case relayingHTTP1
    /// Relayed as a stream of a multiplexed HTTP/2 upstream, an arm with `protocol: h2` (`http2Relay`).
    case relayingHTTP2
    /// Answered with a response of the proxy's own (an error, or no route).
    case answering(H2OwnResponse)
    /// The response went out entirely or was cut, or the stream closed: nothing more is relayed (the
    /// rest of a request body may still arrive, and is dropped).
    case ended
}
