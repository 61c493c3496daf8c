// SNI: the servername callback that moves a handshake to the SSL_CTX holding the certificate asked for.
import COpenSSL

/// The C callback for `SSL_CTX_set_tlsext_servername_callback`, installed on the default context
/// (the one sessions are created from, whose callback OpenSSL calls). Non-capturing: it finds its
/// `TLSContext` through `arg`, unretained like the ALPN callback's.
///
/// OpenSSL calls it for every ClientHello, with or without a server name. A missing or unknown name
/// keeps the default certificate without an alert, as nginx and HAProxy do: a client that checks
/// names fails on its own terms, one that does not (an IP-addressed health check) is served.
/// `SSL_set_SSL_CTX` swaps the certificate and the context whose ALPN callback runs next; the
/// session cache and ticket keys stay the default context's, which is why every context gets the
/// same settings.
let serverNameCallback: @convention(c) (OpaquePointer?, UnsafeMutablePointer<Int32>?, UnsafeMutableRawPointer?) -> Int32 = {
    ssl, alert, arg in
    guard let ssl, let arg, let name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) else { return SSL_TLSEXT_ERR_OK }
    let context = Unmanaged<TLSContext>.fromOpaque(arg).takeUnretainedValue()
    let index = context.serverNames.certificateIndex(for: String(cString: name))
    guard index != 0 else { return SSL_TLSEXT_ERR_OK }
    // Fails only when OpenSSL cannot copy the certificate (out of memory): serving the wrong one
    // instead would hide that, so the handshake ends.
    guard SSL_set_SSL_CTX(ssl, context.certificates[index].ctx) != nil else {
        alert?.pointee = SSL_AD_INTERNAL_ERROR
        return SSL_TLSEXT_ERR_ALERT_FATAL
    }
    return SSL_TLSEXT_ERR_OK
}
