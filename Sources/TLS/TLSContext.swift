// A server TLS configuration (certificate chain, key, protocol floor, ALPN), shared by every loop thread.
import COpenSSL
import Glibc

/// Wraps an `SSL_CTX`. Built once per listener (and again on a reload: a new context, never a
/// mutated one), then only used to make sessions. OpenSSL 3 locks what SSL_new and the session
/// cache touch, so one context serves all loop threads.
public final class TLSContext: Sendable {
    // The C handles are immutable after init and OpenSSL synchronises its own use of them, which is
    // what `nonisolated(unsafe)` asserts; they are freed only in deinit, once no session holds `self`.
    nonisolated(unsafe) let ctx: OpaquePointer
    nonisolated(unsafe) let socketMethod: OpaquePointer
    let alpn: ALPNPreference
    public let certificateFile: String
    public let privateKeyFile: String

    /// Loads the PEM chain (leaf first) and key and checks they belong together.
    /// TLS 1.2 is the floor; ALPN picks the first entry of `alpn` the client also offers.
    public init(certificateFile: String, privateKeyFile: String, alpn: [String] = ["http/1.1"]) throws(TLSError) {
        let preference = try ALPNPreference(alpn)
        ERR_clear_error()
        guard let ctx = SSL_CTX_new(TLS_server_method()) else { throw TLSError.fromQueue("cannot create a TLS context") }
        guard let method = SocketBIO.makeMethod() else {
            SSL_CTX_free(ctx)
            throw TLSError.fromQueue("cannot create the socket BIO method")
        }
        do throws(TLSError) {
            try Self.loadKeyPair(ctx, certificateFile: certificateFile, privateKeyFile: privateKeyFile)
            try Self.configure(ctx)
        } catch {
            BIO_meth_free(method)
            SSL_CTX_free(ctx)
            throw error
        }
        self.ctx = ctx
        self.socketMethod = method
        self.alpn = preference
        self.certificateFile = certificateFile
        self.privateKeyFile = privateKeyFile
        // `self` is complete: the callback finds the ALPN list through it. Unretained, since the
        // SSL_CTX (and so the callback) dies in our deinit.
        SSL_CTX_set_alpn_select_cb(ctx, alpnSelectCallback, Unmanaged.passUnretained(self).toOpaque())
    }

    deinit {
        SSL_CTX_free(ctx)
        BIO_meth_free(socketMethod)
    }

    /// The protocols this context prefers, in order.
    public var alpnProtocols: [String] { alpn.protocols.map { String(decoding: $0, as: UTF8.self) } }

    // MARK: setup steps

    private static func loadKeyPair(_ ctx: OpaquePointer, certificateFile: String, privateKeyFile: String) throws(TLSError) {
        // A plain open() first: "no such file" reads better than OpenSSL's "system library" lines.
        try checkReadable(certificateFile, what: "certificate")
        try checkReadable(privateKeyFile, what: "private key")
        ERR_clear_error()
        guard SSL_CTX_use_certificate_chain_file(ctx, certificateFile) == 1 else {
            throw TLSError.fromQueue("certificate \(certificateFile): cannot load a PEM certificate chain")
        }
        guard SSL_CTX_use_PrivateKey_file(ctx, privateKeyFile, SSL_FILETYPE_PEM) == 1 else {
            // OpenSSL 3 compares a key with the certificate of its type while loading it.
            if OpenSSLErrors.lastReason() == X509_R_KEY_VALUES_MISMATCH {
                ERR_clear_error()
                throw mismatch(certificateFile, privateKeyFile)
            }
            throw TLSError.fromQueue("private key \(privateKeyFile): cannot load a PEM private key")
        }
        // Catches what loading does not: a key of another type than the certificate (e.g. RSA vs EC).
        guard SSL_CTX_check_private_key(ctx) == 1 else {
            ERR_clear_error()
            throw mismatch(certificateFile, privateKeyFile)
        }
    }

    private static func mismatch(_ certificateFile: String, _ privateKeyFile: String) -> TLSError {
        TLSError("private key \(privateKeyFile) does not match the certificate \(certificateFile)")
    }

    private static func checkReadable(_ path: String, what: String) throws(TLSError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd >= 0 {
            close(fd)
            return
        }
        let err = errno
        switch err {
        case ENOENT: throw TLSError("\(what) \(path): no such file")
        case EACCES: throw TLSError("\(what) \(path): permission denied")
        default: throw TLSError("\(what) \(path): \(String(cString: strerror(err)))")
        }
    }

    /// Mozilla's "intermediate" TLS 1.2 suites (forward secret AEADs only); TLS 1.3 keeps OpenSSL's
    /// default suites, which are all modern.
    static let tls12Ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
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
        // Resumption: a server-side session cache (TLS 1.2 session ids) and tickets (on by default in
        // OpenSSL 3, keys generated per context; TLS 1.3 sends two after each full handshake). A
        // resumed handshake skips the certificate signature, the dominant handshake cost.
        _ = cg_SSL_CTX_set_session_cache_mode(ctx, cg_sess_cache_server())
        _ = cg_SSL_CTX_sess_set_cache_size(ctx, 20_000)
        // Without an id context, a cached session is refused if client verification is ever enabled.
        let idContext = Array("canarygate".utf8)
        _ = SSL_CTX_set_session_id_context(ctx, idContext, UInt32(idContext.count))
    }
}
