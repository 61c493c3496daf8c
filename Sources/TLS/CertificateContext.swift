// One key pair loaded into an SSL_CTX of its own, with the server names its leaf certificate covers.
import COpenSSL
import Glibc

/// SNI moves a handshake between these contexts. One certificate per SSL_CTX keeps OpenSSL from
/// choosing among several certificates by key type, which is not what a server name asks for.
/// The protocol settings are applied by `TLSContext`, identically on each.
final class CertificateContext: Sendable {
    // Immutable after init and synchronised by OpenSSL (see `TLSContext`); freed in deinit.
    nonisolated(unsafe) let ctx: OpaquePointer
    let keyPair: TLSKeyPair
    /// The leaf certificate's DNS names as written in it (`*.example.com` included).
    let serverNames: [String]

    /// Loads the PEM chain and the key and checks they belong together.
    init(_ keyPair: TLSKeyPair) throws(TLSError) {
        ERR_clear_error()
        guard let ctx = SSL_CTX_new(TLS_server_method()) else { throw TLSError.fromQueue("cannot create a TLS context") }
        do throws(TLSError) {
            try Self.load(keyPair, into: ctx)
        } catch {
            SSL_CTX_free(ctx)
            throw error
        }
        self.ctx = ctx
        self.keyPair = keyPair
        // Loading succeeded, so the leaf is there.
        self.serverNames = SSL_CTX_get0_certificate(ctx).map(CertificateNames.dnsNames) ?? []
    }

    deinit { SSL_CTX_free(ctx) }

    private static func load(_ pair: TLSKeyPair, into ctx: OpaquePointer) throws(TLSError) {
        // A plain open() first: "no such file" reads better than OpenSSL's "system library" lines.
        try checkReadable(pair.certificateFile, what: "certificate")
        try checkReadable(pair.privateKeyFile, what: "private key")
        ERR_clear_error()
        guard SSL_CTX_use_certificate_chain_file(ctx, pair.certificateFile) == 1 else {
            throw TLSError.fromQueue("certificate \(pair.certificateFile): cannot load a PEM certificate chain")
        }
        guard SSL_CTX_use_PrivateKey_file(ctx, pair.privateKeyFile, SSL_FILETYPE_PEM) == 1 else {
            // OpenSSL 3 compares a key with the certificate of its type while loading it.
            if OpenSSLErrors.lastReason() == X509_R_KEY_VALUES_MISMATCH {
                ERR_clear_error()
                throw mismatch(pair)
            }
            throw TLSError.fromQueue("private key \(pair.privateKeyFile): cannot load a PEM private key")
        }
        // Catches what loading does not: a key of another type than the certificate (e.g. RSA vs EC).
        guard SSL_CTX_check_private_key(ctx) == 1 else {
            ERR_clear_error()
            throw mismatch(pair)
        }
    }

    private static func mismatch(_ pair: TLSKeyPair) -> TLSError {
        TLSError("private key \(pair.privateKeyFile) does not match the certificate \(pair.certificateFile)")
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
}
