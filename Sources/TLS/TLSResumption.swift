// Client session resumption: the last resumable session with one server, offered by the next handshake with it.
import COpenSSL

/// One server's latest session (a TLS 1.2 session or a TLS 1.3 ticket). A client session made with it
/// (`TLSSession(client:…, resumption:)`) offers what it holds and stores what the server issues; when
/// the server accepts, the handshake skips the certificate chain, its verification and the signature,
/// the costly half of a full handshake. Used by one thread: the owner of the connections to that server.
///
/// A resumed handshake does not verify the certificate again: forget the session when the trust
/// settings it was verified under change.
public final class TLSResumption {
    /// An SSL_SESSION*, one reference owned.
    private var session: OpaquePointer?

    public init() {}

    deinit { replace(with: nil) }

    public func forget() { replace(with: nil) }

    /// Takes over one reference to `new` (nil: none).
    fileprivate func replace(with new: OpaquePointer?) {
        if let session { SSL_SESSION_free(session) }
        session = new
    }

    /// Makes `ssl` (a client SSL not yet started) offer the held session and report new ones here.
    func attach(to ssl: OpaquePointer) {
        if let session { _ = SSL_set_session(ssl, session) }  // takes its own reference
        let retained = Unmanaged.passRetained(self).toOpaque()
        // Released by `releaseResumption` when the SSL is freed; a failed set (no memory) just goes without.
        if SSL_set_ex_data(ssl, Self.exDataIndex, retained) != 1 { Unmanaged<TLSResumption>.fromOpaque(retained).release() }
    }

    /// The SSL ex_data slot linking a client SSL to its `TLSResumption` (registered once per process).
    static let exDataIndex: Int32 = CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_SSL, 0, nil, nil, nil, releaseResumption)

    /// For `SSL_CTX_sess_set_new_cb` on client contexts: OpenSSL calls it on the thread driving the SSL
    /// with each new session; returning 1 keeps the reference it hands over.
    static let newSessionCallback: @convention(c) (OpaquePointer?, OpaquePointer?) -> Int32 = { ssl, session in
        guard let ssl, let session, SSL_SESSION_is_resumable(session) == 1,
            let linked = SSL_get_ex_data(ssl, exDataIndex)
        else { return 0 }
        Unmanaged<TLSResumption>.fromOpaque(linked).takeUnretainedValue().replace(with: session)
        return 1
    }
}

/// Called for every SSL freed (with nil where nothing was linked): drops the link's reference.
private let releaseResumption:
    @convention(c) (
        UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, UnsafeMutablePointer<CRYPTO_EX_DATA>?, Int32, Int, UnsafeMutableRawPointer?
    ) -> Void = { _, linked, _, _, _, _ in
        guard let linked else { return }
        Unmanaged<TLSResumption>.fromOpaque(linked).release()
    }
