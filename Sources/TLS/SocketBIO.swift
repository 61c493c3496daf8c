// A socket BIO that sends with MSG_NOSIGNAL: OpenSSL's own (SSL_set_fd) uses write(), which raises SIGPIPE.
import COpenSSL
import EventLoop
import Glibc

/// Canarygate's sends never rely on SIGPIPE being ignored (its plain sockets use `send(MSG_NOSIGNAL)`;
/// only splice, which has no such flag, made the proxy ignore it), so a TLS client that resets
/// mid-response must not raise it through OpenSSL's socket BIO, which writes with write(). This
/// method is the same thing with `recv`/`send(MSG_NOSIGNAL)`. The fd is not owned: the proxy closes it.
///
/// Retry semantics match BIO_s_socket: EAGAIN/EINTR set the retry flags (SSL_get_error then reports
/// WANT_READ/WANT_WRITE); any other failure returns -1 with errno intact (SSL_ERROR_SYSCALL).
enum SocketBIO {
    /// A new method table; one per `TLSContext`, freed by it (BIOs made from it never outlive it,
    /// because every `TLSSession` holds its context).
    static func makeMethod() -> OpaquePointer? {
        guard let method = BIO_meth_new(cg_socket_bio_type(), "canarygate socket") else { return nil }
        BIO_meth_set_write(method, write)
        BIO_meth_set_read(method, read)
        BIO_meth_set_ctrl(method, ctrl)
        return method
    }

    /// A BIO over `fd`, ready for `SSL_set_bio`.
    static func make(method: OpaquePointer, fd: Int32) -> OpaquePointer? {
        guard let bio = BIO_new(method) else { return nil }
        // The fd rides in the data pointer (fd 0 round-trips as nil → 0).
        BIO_set_data(bio, UnsafeMutableRawPointer(bitPattern: Int(fd)))
        BIO_set_init(bio, 1)  // BIO_read/BIO_write refuse an uninitialised BIO
        return bio
    }

    @inline(__always)
    private static func fd(_ bio: OpaquePointer) -> Int32 { Int32(truncatingIfNeeded: Int(bitPattern: BIO_get_data(bio))) }

    private static let write: @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, Int32) -> Int32 = { bio, data, length in
        guard let bio else { return -1 }
        cg_BIO_clear_retry_flags(bio)
        let n = send(SocketBIO.fd(bio), data, Int(length), Int32(MSG_NOSIGNAL))
        if n < 0 {
            let err = Errno.current.rawValue
            if err == EAGAIN || err == EWOULDBLOCK || err == EINTR { cg_BIO_set_retry_write(bio) }
            return -1
        }
        return Int32(n)
    }

    private static let read: @convention(c) (OpaquePointer?, UnsafeMutablePointer<CChar>?, Int32) -> Int32 = { bio, data, length in
        guard let bio else { return -1 }
        cg_BIO_clear_retry_flags(bio)
        let n = recv(SocketBIO.fd(bio), data, Int(length), 0)
        if n < 0 {
            let err = Errno.current.rawValue
            if err == EAGAIN || err == EWOULDBLOCK || err == EINTR { cg_BIO_set_retry_read(bio) }
            return -1
        }
        return Int32(n)  // 0 is EOF
    }

    private static let ctrl: @convention(c) (OpaquePointer?, Int32, Int, UnsafeMutableRawPointer?) -> Int = { bio, command, _, pointer in
        switch command {
        case BIO_CTRL_FLUSH:
            return 1  // nothing is buffered here; libssl treats a flush result <= 0 as a failure
        case BIO_CTRL_DUP:
            return 1
        case BIO_C_GET_FD:
            // So SSL_get_fd and friends keep working.
            guard let bio else { return -1 }
            let fd = SocketBIO.fd(bio)
            pointer?.assumingMemoryBound(to: Int32.self).pointee = fd
            return Int(fd)
        default:
            return 0
        }
    }
}
