// Client-side TLS sessions: to an upstream, with SNI and a verified certificate name.
import COpenSSL
import Glibc

extension TLSSession {
    /// A client session on `fd`, a non-blocking socket whose connect may still be in progress: the
    /// handshake starts at the first `handshake()` (or read or write) once it is connected.
    ///
    /// `serverName` is sent as SNI (unless it is an IP address, which SNI cannot carry) and must be
    /// covered by the certificate: a DNS subjectAltName (or, lacking any, the subject CN) for a name,
    /// an IP subjectAltName for an address. With the chain checked against the context's CAs, a
    /// mismatch of either fails the handshake; `verificationFailure` then says why.
    ///
    /// `resumption`: the session to offer, and where the server's new sessions go (see `TLSResumption`).
    public convenience init(
        client context: TLSClientContext, fd: Int32, serverName: String, resumption: TLSResumption? = nil
    ) throws(TLSError) {
        let ssl = try Self.newSSL(context.ctx, method: context.socketMethod, fd: fd, what: "a TLS client session")
        SSL_set_connect_state(ssl)
        do throws(TLSError) {
            try Self.expect(serverName, on: ssl)
        } catch {
            SSL_free(ssl)
            throw error
        }
        resumption?.attach(to: ssl)
        self.init(ssl: ssl, clientContext: context)
    }

    private static func expect(_ serverName: String, on ssl: OpaquePointer) throws(TLSError) {
        if !isIPAddress(serverName) {
            guard cg_SSL_set_tlsext_host_name(ssl, serverName) == 1 else {
                throw TLSError.fromQueue("server name \(serverName): cannot be sent as SNI")
            }
        }
        // A wildcard covers one whole left-most label only ("*.example.com", never "api*.example.com").
        SSL_set_hostflags(ssl, UInt32(X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS))
        // OpenSSL 3 checks an IP address literal against IP subjectAltNames, anything else as a DNS name.
        guard SSL_set1_host(ssl, serverName) == 1 else {
            throw TLSError.fromQueue("server name \(serverName): cannot be set as the name to verify")
        }
    }

    private static func isIPAddress(_ text: String) -> Bool {
        var address = in6_addr()  // large enough for either family
        return inet_pton(AF_INET, text, &address) == 1 || inet_pton(AF_INET6, text, &address) == 1
    }

    /// Offers `protocols` by ALPN in the ClientHello (e.g. ["h2"] for an HTTP/2 upstream); call before
    /// the handshake. `negotiatedProtocol` tells what the server picked.
    public func offerALPN(_ protocols: [String]) throws(TLSError) {
        var wire: [UInt8] = []
        for name in protocols {
            let bytes = Array(name.utf8)
            guard !bytes.isEmpty, bytes.count <= 255 else { throw TLSError("ALPN protocol name \"\(name)\" must be 1 to 255 bytes") }
            wire.append(UInt8(bytes.count))
            wire += bytes
        }
        // SSL_set_alpn_protos returns 0 on success, unlike most of OpenSSL.
        guard SSL_set_alpn_protos(ssl, wire, UInt32(wire.count)) == 0 else { throw TLSError.fromQueue("cannot offer ALPN \(protocols)") }
    }

    /// The handshake resumed an earlier session (no certificate was sent or verified).
    public var isResumed: Bool { SSL_session_reused(ssl) == 1 }

    /// The peer's close_notify was read: no more data will come, though a read may just have returned
    /// the bytes before it (the end of stream is reported by the next read).
    public var receivedCloseNotify: Bool { SSL_get_shutdown(ssl) & SSL_RECEIVED_SHUTDOWN != 0 }

    /// Why the peer's certificate was refused ("hostname mismatch", "self-signed certificate", …);
    /// nil when it verified or was not checked yet. The handshake error says only "certificate verify failed".
    public var verificationFailure: String? {
        let result = SSL_get_verify_result(ssl)
        guard result != X509_V_OK else { return nil }
        return String(cString: X509_verify_cert_error_string(result))
    }
}
