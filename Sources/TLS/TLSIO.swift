// The outcomes of non-blocking TLS operations: done, bytes moved, or which readiness to wait for.
/// Result of `TLSSession.handshake()`.
public enum HandshakeResult: Equatable, Sendable {
    case done
    /// Wait until the socket is readable, then call `handshake()` again.
    case wantRead
    /// Wait until the socket is writable, then call `handshake()` again.
    case wantWrite
}

/// Result of `TLSSession.read(into:)` and `TLSSession.write(_:)`.
///
/// A `want` is about the *socket*, not the operation: a read may want a write (a TLS 1.3 key update
/// answer) and a write may want a read. Wait for that readiness, then retry the *same* operation.
public enum TLSIO: Equatable, Sendable {
    /// Plaintext bytes moved. For a read, 0 is the end of the stream: close_notify, or a TCP EOF on a server session.
    case bytes(Int)
    case wantRead
    case wantWrite
}
