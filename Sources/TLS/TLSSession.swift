// One TLS connection on a non-blocking socket, server side (or client side, see TLSSession+Client.swift): handshake, read, write, shutdown.
import COpenSSL
import EventLoop

/// Owned and used by one loop thread (not Sendable). It does not own the fd: the caller closes it,
/// after `shutdown()` if it wants a close_notify sent.
///
/// Non-blocking rules (OpenSSL's, restated for the proxy):
/// - Every call may return `wantRead`/`wantWrite`; wait for that readiness and retry the same call.
/// - A `write` that returned `want…` must be retried with the same bytes: OpenSSL has already
///   encrypted (part of) them into a record it is still sending. With ACCEPT_MOVING_WRITE_BUFFER the
///   pointer may change between attempts, but the length must not shrink.
/// - With ENABLE_PARTIAL_WRITE a write returns after each record (≤ 16 KiB): loop until all is sent.
/// - A read returns at most one record's plaintext. With edge-triggered epoll, keep reading while
///   `hasBufferedPlaintext` is true even if the socket reported nothing new: decrypted bytes of a
///   record that did not fit the caller's buffer wait inside OpenSSL, not in the kernel.
/// - After any thrown error the session is dead: every later call throws the same error again;
///   close the socket (`shutdown()` does nothing then).
public final class TLSSession {
    let ssl: OpaquePointer
    /// Keeps the SSL_CTX, the BIO method and the ALPN callback's `arg` alive as long as the SSL.
    public let context: TLSContext?
    /// The first error thrown: the session is dead, and every later call throws it again.
    private var failure: TLSError?
    /// A client session's context (see TLSSession+Client.swift), kept alive like `context`.
    private let clientContext: TLSClientContext?

    public init(context: TLSContext, fd: Int32) throws(TLSError) {
        let ssl = try Self.newSSL(context.ctx, method: context.socketMethod, fd: fd, what: "a TLS session")
        SSL_set_accept_state(ssl)
        self.ssl = ssl
        self.context = context
        self.clientContext = nil
    }

    /// A new SSL of `ctx` reading and writing `fd` through our socket BIO (server and client sessions alike).
    static func newSSL(_ ctx: OpaquePointer, method: OpaquePointer, fd: Int32, what: String) throws(TLSError) -> OpaquePointer {
        ERR_clear_error()
        guard let ssl = SSL_new(ctx) else { throw TLSError.fromQueue("cannot create \(what)") }
        guard let bio = SocketBIO.make(method: method, fd: fd) else {
            SSL_free(ssl)
            throw TLSError.fromQueue("cannot create a socket BIO")
        }
        // One BIO for both directions: SSL_set_bio takes the single reference we hold.
        SSL_set_bio(ssl, bio, bio)
        return ssl
    }

    /// Takes ownership of `ssl`, a client-mode SSL made from `clientContext` with its BIO attached.
    init(ssl: OpaquePointer, clientContext: TLSClientContext) {
        self.ssl = ssl
        self.context = nil
        self.clientContext = clientContext
    }

    deinit { SSL_free(ssl) }  // frees the BIO too; the fd stays open

    // MARK: handshake

    /// Advances the handshake. After `.done`, further calls return `.done` at once.
    public func handshake() throws(TLSError) -> HandshakeResult {
        try beginCall()
        let rc = SSL_do_handshake(ssl)
        if rc == 1 { return .done }
        switch SSL_get_error(ssl, rc) {
        case SSL_ERROR_WANT_READ: return .wantRead
        case SSL_ERROR_WANT_WRITE: return .wantWrite
        case let code: throw fail(code, operation: "handshake", eofText: "peer closed the connection during the handshake")
        }
    }

    // MARK: data

    /// Decrypts into `buffer` (which must not be empty). `.bytes(0)` is the end of the stream.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(TLSError) -> TLSIO {
        precondition(buffer.count > 0, "TLSSession.read needs room: .bytes(0) means end of stream")
        try beginCall()
        var count = 0
        if SSL_read_ex(ssl, buffer.baseAddress, buffer.count, &count) == 1 { return .bytes(count) }
        switch SSL_get_error(ssl, 0) {
        case SSL_ERROR_WANT_READ: return .wantRead
        case SSL_ERROR_WANT_WRITE: return .wantWrite
        // close_notify, or on a server session (SSL_OP_IGNORE_UNEXPECTED_EOF) a TCP FIN without one.
        case SSL_ERROR_ZERO_RETURN: return .bytes(0)
        // A bare FIN as older OpenSSL reports it: an end of stream only where it is not an error (a server session).
        case SSL_ERROR_SYSCALL where clientContext == nil && cg_tls_errno() == 0 && ERR_peek_error() == 0: return .bytes(0)
        case let code: throw fail(code, operation: "read", eofText: nil)
        }
    }

    /// Encrypts and sends up to one record of `buffer`; `.bytes(n)` with `n > 0` on progress.
    /// On `want…`, retry later with a buffer of the same (or greater) length starting at the same byte.
    public func write(_ buffer: UnsafeRawBufferPointer) throws(TLSError) -> TLSIO {
        if buffer.isEmpty { return .bytes(0) }  // SSL_write of 0 bytes is an error in OpenSSL
        try beginCall()
        var count = 0
        if SSL_write_ex(ssl, buffer.baseAddress, buffer.count, &count) == 1 { return .bytes(count) }
        switch SSL_get_error(ssl, 0) {
        case SSL_ERROR_WANT_READ: return .wantRead
        case SSL_ERROR_WANT_WRITE: return .wantWrite
        case let code: throw fail(code, operation: "write", eofText: "peer closed the connection")
        }
    }

    // MARK: state

    /// Decrypted bytes are waiting inside OpenSSL (see the type's comment on edge-triggered epoll).
    public var hasBufferedPlaintext: Bool { SSL_pending(ssl) > 0 }

    /// The ALPN protocol chosen in the handshake ("h2", "http/1.1"), nil if the client sent no ALPN.
    public var negotiatedProtocol: String? {
        var data: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &data, &length)
        guard let data, length > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(length)), as: UTF8.self)
    }

    /// "TLSv1.3", "TLSv1.2"; meaningful once the handshake is done.
    public var protocolVersion: String { String(cString: SSL_get_version(ssl)) }

    public var isHandshakeDone: Bool { SSL_is_init_finished(ssl) == 1 }

    /// Sends close_notify once, without waiting for the peer's (the proxy closes the socket next).
    /// Non-blocking and best effort: if the socket is full the alert is simply lost.
    public func shutdown() {
        // OpenSSL forbids SSL_shutdown after a fatal error, and it fails during the handshake.
        guard failure == nil, isHandshakeDone else { return }
        ERR_clear_error()
        _ = SSL_shutdown(ssl)
        ERR_clear_error()
    }

    // MARK: errors

    /// Before each SSL call: a dead session throws its first error again; a live one clears the error queue and
    /// errno, so that what SSL_get_error reads afterwards belongs to this call.
    @inline(__always)
    private func beginCall() throws(TLSError) {
        if let failure { throw failure }
        ERR_clear_error()
        cg_tls_clear_errno()
    }

    /// Marks the session dead and turns an SSL_get_error code into a message.
    private func fail(_ code: Int32, operation: String, eofText: String?) -> TLSError {
        let error = describe(code, operation: operation, eofText: eofText)
        failure = error
        return error
    }

    private func describe(_ code: Int32, operation: String, eofText: String?) -> TLSError {
        switch code {
        case SSL_ERROR_ZERO_RETURN:
            return TLSError("TLS \(operation): \(eofText ?? "peer closed the connection")")
        case SSL_ERROR_SYSCALL:
            let err = Errno(cg_tls_errno())
            if ERR_peek_error() != 0 { return TLSError.fromQueue("TLS \(operation)") }
            if err.rawValue == 0 { return TLSError("TLS \(operation): \(eofText ?? "peer closed the connection")") }
            return TLSError("TLS \(operation): \(err)")
        case SSL_ERROR_SSL:
            return TLSError.fromQueue("TLS \(operation)")
        default:
            ERR_clear_error()
            return TLSError("TLS \(operation): unexpected SSL_get_error \(code)")
        }
    }
}
