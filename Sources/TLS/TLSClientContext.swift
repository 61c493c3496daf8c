// A client TLS configuration for connections to upstreams (trusted CAs, protocol floor, peer verification), shared by every loop thread.
import COpenSSL
import Glibc

/// Wraps a client `SSL_CTX`. Built with the configuration snapshot, so an unreadable or empty CA file
/// refuses a reload instead of failing every handshake; then only used to make sessions (OpenSSL 3
/// locks what SSL_new touches, so one context serves all loops). Every session it makes verifies the
/// peer's chain against the trusted CAs; the name to check is per session (`TLSSession(client:…)`).
public final class TLSClientContext: Sendable {
    // Immutable after init and synchronised by OpenSSL; freed in deinit, once no session holds `self`.
    nonisolated(unsafe) let ctx: OpaquePointer
    nonisolated(unsafe) let socketMethod: OpaquePointer
    /// The PEM file of trusted CAs; nil: the system trust store (OpenSSL's default paths, on Debian
    /// /etc/ssl/certs/ca-certificates.crt).
    public let caFile: String?

    /// `certFile` and `keyFile` (both or neither): a certificate chain (PEM, leaf first) and its
    /// private key that the client presents when the server asks, as etcd's `--client-cert-auth` does.
    public init(caFile: String?, certFile: String? = nil, keyFile: String? = nil) throws(TLSError) {
        ERR_clear_error()
        guard let ctx = SSL_CTX_new(TLS_client_method()) else { throw TLSError.fromQueue("cannot create a TLS client context") }
        guard let method = SocketBIO.makeMethod() else {
            SSL_CTX_free(ctx)
            throw TLSError.fromQueue("cannot create the socket BIO method")
        }
        do throws(TLSError) {
            try Self.loadTrust(ctx, caFile: caFile)
            try Self.loadIdentity(ctx, certFile: certFile, keyFile: keyFile)
            try Self.configure(ctx)
        } catch {
            BIO_meth_free(method)
            SSL_CTX_free(ctx)
            throw error
        }
        self.ctx = ctx
        self.socketMethod = method
        self.caFile = caFile
    }

    deinit {
        SSL_CTX_free(ctx)
        BIO_meth_free(socketMethod)
    }

    private static func loadTrust(_ ctx: OpaquePointer, caFile: String?) throws(TLSError) {
        guard let caFile else {
            guard SSL_CTX_set_default_verify_paths(ctx) == 1 else {
                throw TLSError.fromQueue("cannot load the system's trusted CA certificates")
            }
            return
        }
        // A plain open() first: "no such file" reads better than OpenSSL's "system library" lines.
        let fd = open(caFile, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let err = errno
            throw TLSError("CA file \(caFile): \(err == ENOENT ? "no such file" : String(cString: strerror(err)))")
        }
        close(fd)
        // Fails on a file holding no PEM certificate at all ("no certificate or crl found").
        guard SSL_CTX_load_verify_locations(ctx, caFile, nil) == 1 else {
            throw TLSError.fromQueue("CA file \(caFile): cannot load PEM CA certificates")
        }
    }

    private static func loadIdentity(_ ctx: OpaquePointer, certFile: String?, keyFile: String?) throws(TLSError) {
        guard let certFile, let keyFile else {
            if certFile != nil || keyFile != nil { throw TLSError("a client certificate needs both a certificate file and a key file") }
            return
        }
        guard SSL_CTX_use_certificate_chain_file(ctx, certFile) == 1 else {
            throw TLSError.fromQueue("client certificate file \(certFile): cannot load a PEM certificate chain")
        }
        guard SSL_CTX_use_PrivateKey_file(ctx, keyFile, SSL_FILETYPE_PEM) == 1 else {
            throw TLSError.fromQueue("client key file \(keyFile): cannot load a PEM private key")
        }
        guard SSL_CTX_check_private_key(ctx) == 1 else {
            throw TLSError.fromQueue("client key file \(keyFile): does not match the certificate in \(certFile)")
        }
    }

    private static func configure(_ ctx: OpaquePointer) throws(TLSError) {
        guard cg_SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) == 1 else {
            throw TLSError.fromQueue("cannot set the minimum TLS version")
        }
        guard SSL_CTX_set_cipher_list(ctx, TLSContext.tls12Ciphers) == 1 else {
            throw TLSError.fromQueue("cannot set the TLS 1.2 cipher list")
        }
        // The server side's modes suit a client on a non-blocking socket as well: record by record
        // partial writes retried from a moved buffer, small idle connections. Its options too (no
        // renegotiation or compression) but one: an upstream's close without close_notify is an error,
        // so a close-delimited response cut by a forged FIN is never relayed as complete.
        _ = cg_SSL_CTX_set_mode(ctx, cg_server_modes())
        _ = SSL_CTX_set_options(ctx, cg_client_options())
        // No callback: a chain that does not verify, or a name that does not match, fails the handshake.
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nil)
        // Resumption: new sessions go to the connection's `TLSResumption` (per server), not to a
        // shared cache, which OpenSSL would never consult for a client anyway.
        _ = cg_SSL_CTX_set_session_cache_mode(ctx, Int(SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE))
        SSL_CTX_sess_set_new_cb(ctx, TLSResumption.newSessionCallback)
    }
}
