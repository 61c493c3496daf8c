// What an HTTP/2 upstream connection hands its streams' events to: an HTTP/2 client's stream, or an HTTP/1.1 client's relay.
import HTTP2

/// `H2UpstreamConnection` serves both kinds of downstream request on one multiplexed connection: the
/// streams of HTTP/2 clients (`H2Stream`) and the requests of HTTP/1.1 clients (`H1ToH2Relay`). Every
/// event arrives inside the upstream session's receive or send: an implementation copies what it needs
/// and defers socket work of its own side to the loop's dirty lists.
protocol H2UpstreamStream: AnyObject {
    /// One field of a response head or of trailers; the bytes are valid only during the call.
    func upstreamField(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)
    /// A HEADERS frame ended (interim head, final head or trailers); `endStream`: the response ended with it.
    func upstreamHeadersEnded(endStream: Bool)
    func upstreamData(_ bytes: UnsafeRawBufferPointer)
    /// The response ended with a DATA frame.
    func upstreamEnded()
    /// The upstream stream closed: after the response, or reset (`errorCode`) before it.
    func upstreamStreamClosed(errorCode: UInt32)
    /// The connection failed (or closed) with the stream open.
    func upstreamLost(_ failure: ProxyFailure)
    /// Fills the next request DATA frame.
    func readRequestBody(into out: UnsafeMutableRawBufferPointer) -> H2BodyRead
}

extension H2Stream: H2UpstreamStream {}
