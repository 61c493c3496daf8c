// How the body that follows a head is delimited (RFC 9112 §6.3).

public enum BodyFraming: Sendable, Equatable {
    case none
    case contentLength(UInt64)
    case chunked
    /// The body ends when the upstream closes the connection; only responses can be framed this way.
    case untilClose
}
