// Which fields a proxy must not pass on in a trailer section: those that frame, route, modify or authenticate a message.

public enum TrailerFields {
    /// The longest name in `forbidden`: a longer trailer name is relayed without a look-up.
    public static let longestForbiddenName = 25

    /// RFC 9110 §6.5.1 forbids senders to put in trailers what framing, routing, request modifiers
    /// (controls and conditionals), authentication, response control and content processing depend on,
    /// and `Trailer` itself; the hop-by-hop fields are connection-specific anyway, and the fields the
    /// proxy sets in the head must not get a client-chosen second value. A recipient that merges
    /// trailers into the head (many do) could otherwise be steered by them, so they are dropped
    /// rather than relayed; every other trailer field goes through.
    public static func isForbidden(_ name: UnsafeRawBufferPointer) -> Bool {
        guard name.count <= longestForbiddenName else { return false }
        let whole = ByteRange(lowerBound: 0, upperBound: name.count)
        for candidate in forbidden where candidate.utf8CodeUnitCount == name.count {
            if ASCII.equalsIgnoringCase(name, whole, candidate) { return true }
        }
        return false
    }

    private static let forbidden: [StaticString] = [
        // framing and routing
        "transfer-encoding", "content-length", "host",
        // request modifiers: controls and conditionals
        "cache-control", "expect", "max-forwards", "pragma", "range", "te",
        "if-match", "if-none-match", "if-modified-since", "if-unmodified-since", "if-range",
        // authentication, and the cookies that act as credentials
        "authorization", "proxy-authorization", "www-authenticate", "proxy-authenticate",
        "authentication-info", "proxy-authentication-info", "cookie", "set-cookie",
        // response control data
        "age", "expires", "date", "location", "retry-after", "vary", "warning",
        // how the content is processed
        "content-encoding", "content-type", "content-range", "trailer",
        // hop-by-hop
        "connection", "keep-alive", "upgrade", "proxy-connection",
        // what the proxy itself says about the client
        "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "forwarded",
    ]
}
