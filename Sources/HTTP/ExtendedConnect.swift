// What an HTTP/2 CONNECT may be (RFC 8441's extended CONNECT): a WebSocket the proxy relays, or a 501.

public enum ExtendedConnect {
    public enum Decision: Equatable, Sendable {
        /// An ordinary request: neither CONNECT nor `:protocol`.
        case ordinary
        /// `:method CONNECT` with `:protocol websocket`: relayed to an HTTP/1.1 upstream as its upgrade handshake.
        case webSocket
        /// Answered by the proxy with this error, never sent upstream.
        case refused(HTTPParseError)
    }

    /// The decision for a complete head with `method` and the `:protocol` value, if any. A reverse
    /// proxy tunnels nothing but what its upstreams speak over HTTP: an ordinary CONNECT (no
    /// `:protocol`) and any protocol other than WebSocket get 501, as CONNECT does over HTTP/1.1.
    public static func decide(method: HTTPMethod, connectProtocol: UnsafeRawBufferPointer?) -> Decision {
        guard let connectProtocol else {
            return method == .connect ? .refused(HTTPParseError(status: 501, reason: "CONNECT is not supported")) : .ordinary
        }
        // RFC 8441 §4: `:protocol` belongs to CONNECT only (nghttp2 refuses it elsewhere already).
        guard method == .connect else { return .refused(.badRequest(":protocol without CONNECT")) }
        let all = ByteRange(lowerBound: 0, upperBound: connectProtocol.count)
        guard ASCII.equalsIgnoringCase(connectProtocol, all, "websocket") else {
            return .refused(HTTPParseError(status: 501, reason: "unsupported :protocol"))
        }
        return .webSocket
    }
}
