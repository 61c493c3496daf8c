// A server TLS configuration (certificates chosen by SNI, protocol floor, ALPN), shared by every loop thread.
import COpenSSL
import Glibc

/// Wraps one `SSL_CTX` per certificate. Built once per listener (and again on a reload: a new
/// context, never a mutated one), then only used to make sessions. OpenSSL 3 locks what SSL_new,
/// SSL_set_SSL_CTX and the session cache touch, so one context serves all loop threads.
public final class TLSContext: Sendable {
    /// The first is the default: it serves clients that send no server name or one no certificate covers.
    let certificates: [CertificateContext]
    let serverNames: ServerNameTable
    // Immutable after init; freed in deinit, once no session holds `self`.
    nonisolated(unsafe) let socketMethod: OpaquePointer
    let alpn: ALPNPreference

    /// The context sessions start on; the SNI callback may move a session to another certificate's.
    var ctx: OpaquePointer { certificates[0].ctx }

    /// Loads every key pair (see `CertificateContext`); the first is the default certificate, and a
    /// server name two certificates share goes to the earlier one. TLS 1.2 is the floor; ALPN picks
    /// the first entry of `alpn` the client also offers.
    public init(keyPairs: [TLSKeyPair], alpn: [String] = ["http/1.1"]) throws(TLSError) {
        guard !keyPairs.isEmpty else { throw TLSError("a TLS context needs at least one certificate") }
        let preference = try ALPNPreference(alpn)
        var loaded: [CertificateContext] = []
        for pair in keyPairs {
            let certificate = try CertificateContext(pair)
            // Only the default certificate is served without a name; any other one must have a name.
            if !loaded.isEmpty && certificate.serverNames.isEmpty {
                throw TLSError(
                    "certificate \(pair.certificateFile): no DNS subjectAltName and no subject CN, so no server name can select it")
            }
            try Self.configure(certificate.ctx)
            loaded.append(certificate)
        }
        ERR_clear_error()
        guard let method = SocketBIO.makeMethod() else { throw TLSError.fromQueue("cannot create the socket BIO method") }
        self.certificates = loaded
        self.serverNames = ServerNameTable(loaded.map(\.serverNames))
        self.socketMethod = method
        self.alpn = preference
        // `self` is complete: the callbacks find the ALPN list and the certificates through it.
        // Unretained, since the SSL_CTXs (and so the callbacks) die with the certificates it owns.
        let unretained = Unmanaged.passUnretained(self).toOpaque()
        for certificate in loaded {
            SSL_CTX_set_alpn_select_cb(certificate.ctx, alpnSelectCallback, unretained)
        }
        _ = cg_SSL_CTX_set_tlsext_servername_callback(ctx, serverNameCallback)
        _ = cg_SSL_CTX_set_tlsext_servername_arg(ctx, unretained)
    }

    deinit { BIO_meth_free(socketMethod) }

    /// The protocols this context prefers, in order.
    public var alpnProtocols: [String] { alpn.protocols.map { String(decoding: $0, as: UTF8.self) } }

    // MARK: shared settings

    /// Mozilla's "intermediate" TLS 1.2 suites (forward secret AEADs only); TLS 1.3 keeps OpenSSL's
    /// default suites, which are all modern.
    static let tls12Ciphers =
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
        + "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
        + "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

    private static func configure(_ ctx: OpaquePointer) throws(TLSError) {
        guard cg_SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) == 1 else {
            throw TLSError.fromQueue("cannot set the minimum TLS version")
        }
        guard SSL_CTX_set_cipher_list(ctx, tls12Ciphers) == 1 else {
            throw TLSError.fromQueue("cannot set the TLS 1.2 cipher list")
        }
        _ = cg_SSL_CTX_set_mode(ctx, cg_server_modes())
        _ = SSL_CTX_set_options(ctx, cg_server_options())
        // Read whatever the socket holds into OpenSSL's buffer, not a record header (5 bytes) and then
        // its body: one recv per record instead of two (strace, HTTPS keep-alive: 3 recvs per request
        // before, 2 after). Bytes read ahead are returned by the next SSL_read without a socket event,
        // and the proxy reads after every completed handshake and until SSL_read wants more.
        _ = cg_SSL_CTX_set_read_ahead(ctx, 1)
        // Resumption: a server-side session cache (TLS 1.2 session ids) and tickets (on by default in
        // OpenSSL 3, keys generated per context; TLS 1.3 sends two after each full handshake). A
        // resumed handshake skips the certificate signature, the dominant handshake cost. Only the
        // default context's cache and keys are used: a session keeps the context it was created from
        // for them when SNI switches its certificate.
        _ = cg_SSL_CTX_set_session_cache_mode(ctx, cg_sess_cache_server())
        _ = cg_SSL_CTX_sess_set_cache_size(ctx, 20_000)
        // Without an id context, a cached session is refused if client verification is ever enabled.
        // The same id everywhere lets SSL_set_SSL_CTX carry it over to the chosen certificate's context.
        let idContext = Array("canarygate".utf8)
        _ = SSL_CTX_set_session_id_context(ctx, idContext, UInt32(idContext.count))
    }
}
