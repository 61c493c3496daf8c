// One client connection whose every wait is bounded by a deadline: a TCP socket, TLS over it when asked (webhooks, etcd).
#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import TLS

/// For the control plane's own clients, which run on threads of their own (a hook thread, the cluster
/// agent's, an etcd watch's), never on an event loop. The socket stays non-blocking throughout and
/// every wait is a poll until the deadline: the connect, the TLS handshake (a server that accepts and
/// then says nothing cannot hold a hook past its timeout), each send and each receive. TLS uses the
/// data plane's client sessions, so a webhook's or etcd's certificate is checked exactly like an
/// upstream's: the chain against the context's CAs, the host against the certificate's names (a DNS
/// name, or an IP address literal).
package final class DeadlineConnection {
    package enum Failure: Error {
        case timedOut
        /// A sentence for the hook's detail, e.g. "connection refused".
        case failed(String)
        /// Trying again cannot help, e.g. a CA file that cannot be loaded.
        case unusable(String)
    }

    private let fd: Int32
    private let tls: TLSSession?
    /// Wakes this connection's waits from another thread.
    package let interrupter: Interrupter

    private init(fd: Int32, tls: TLSSession?) {
        self.fd = fd
        self.tls = tls
        interrupter = Interrupter(fd: fd)
    }

    deinit {
        // A close_notify when it can go at once; the request said `Connection: close` anyway.
        tls?.shutdown()
        interrupter.close()
    }

    /// Shuts the socket down in both directions from any thread, so a thread waiting in `send` or
    /// `receive` wakes and fails at once (an etcd watch being cancelled). The descriptor is closed
    /// under the same lock, so a closed connection's number, which the kernel may have reused for
    /// another file, is never touched.
    package final class Interrupter: Sendable {
        private let fd: Mutex<Int32?>

        fileprivate init(fd: Int32) { self.fd = Mutex(fd) }

        package func interrupt() {
            fd.withLock { fd in
                if let fd { _ = Glibc.shutdown(fd, Int32(SHUT_RDWR)) }
            }
        }

        fileprivate func close() {
            fd.withLock { fd in
                if let open = fd { _ = Glibc.close(open) }
                fd = nil
            }
        }
    }

    /// Connects to `host` (each resolved address in turn) and, with a TLS context, completes the
    /// handshake, checking the certificate against `host`.
    package static func open(
        host: String, port: UInt16, tls context: TLSClientContext?, deadline: UInt64
    ) -> Result<DeadlineConnection, Failure> {
        let fd: Int32
        switch connect(host: host, port: port, deadline: deadline) {
        case .success(let connected): fd = connected
        case .failure(let failure): return .failure(failure)
        }
        guard let context else { return .success(DeadlineConnection(fd: fd, tls: nil)) }
        let session: TLSSession
        do {
            session = try TLSSession(client: context, fd: fd, serverName: host)
        } catch {
            close(fd)
            return .failure(.unusable(error.message))
        }
        let connection = DeadlineConnection(fd: fd, tls: session)
        if let failure = connection.handshake(host: host, deadline: deadline) { return .failure(failure) }
        return .success(connection)
    }

    /// Sends all of `bytes`.
    package func send(_ bytes: [UInt8], deadline: UInt64) -> Result<Void, Failure> {
        var sent = 0
        while sent < bytes.count {
            let step: Result<Int, Failure> = bytes.withUnsafeBytes { raw in
                let rest = UnsafeRawBufferPointer(rebasing: raw[sent...])
                guard let tls else { return plainSend(rest, deadline: deadline) }
                // A TLS write that wants readiness is retried with the same bytes (TLSSession's rule).
                return tlsStep(deadline: deadline) { () throws(TLSError) in try tls.write(rest) }
            }
            switch step {
            case .success(let count): sent += count
            case .failure(let failure): return .failure(failure)
            }
        }
        return .success(())
    }

    /// Receives some bytes into `buffer`; 0 is the end of the stream.
    package func receive(into buffer: UnsafeMutableRawBufferPointer, deadline: UInt64) -> Result<Int, Failure> {
        guard let tls else { return plainReceive(into: buffer, deadline: deadline) }
        return tlsStep(deadline: deadline) { () throws(TLSError) in try tls.read(into: buffer) }
    }

    // MARK: - TLS

    /// Drives the handshake to its end; nil when done. A refused certificate says why.
    private func handshake(host: String, deadline: UInt64) -> Failure? {
        guard let tls else { return nil }
        while true {
            let result: HandshakeResult
            do { result = try tls.handshake() } catch {
                // OpenSSL's own text says only "certificate verify failed"; the verify result says what.
                if let why = tls.verificationFailure { return .failed("TLS handshake with \(host): certificate verify failed: \(why)") }
                return .failed(error.message)
            }
            switch result {
            case .done: return nil
            case .wantRead: if !wait(for: Int16(POLLIN), deadline: deadline) { return .timedOut }
            case .wantWrite: if !wait(for: Int16(POLLOUT), deadline: deadline) { return .timedOut }
            }
        }
    }

    /// Repeats `operation` while it wants readiness, waiting for it until the deadline.
    private func tlsStep(deadline: UInt64, _ operation: () throws(TLSError) -> TLSIO) -> Result<Int, Failure> {
        while true {
            let result: TLSIO
            do { result = try operation() } catch { return .failure(.failed(error.message)) }
            switch result {
            case .bytes(let count): return .success(count)
            case .wantRead: if !wait(for: Int16(POLLIN), deadline: deadline) { return .failure(.timedOut) }
            case .wantWrite: if !wait(for: Int16(POLLOUT), deadline: deadline) { return .failure(.timedOut) }
            }
        }
    }

    // MARK: - Plain socket

    private func plainSend(_ bytes: UnsafeRawBufferPointer, deadline: UInt64) -> Result<Int, Failure> {
        while true {
            let n = Glibc.send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))
            if n >= 0 { return .success(n) }
            let error = errno
            if error == EINTR { continue }
            guard error == EAGAIN || error == EWOULDBLOCK else { return .failure(.failed(Self.describe("send", error))) }
            if !wait(for: Int16(POLLOUT), deadline: deadline) { return .failure(.timedOut) }
        }
    }

    private func plainReceive(into buffer: UnsafeMutableRawBufferPointer, deadline: UInt64) -> Result<Int, Failure> {
        while true {
            let n = recv(fd, buffer.baseAddress, buffer.count, 0)
            if n >= 0 { return .success(n) }
            let error = errno
            if error == EINTR { continue }
            guard error == EAGAIN || error == EWOULDBLOCK else { return .failure(.failed(Self.describe("recv", error))) }
            if !wait(for: Int16(POLLIN), deadline: deadline) { return .failure(.timedOut) }
        }
    }

    /// Waits until `fd` is ready for `events` (or has an error or hangup to report); false at the deadline.
    private func wait(for events: Int16, deadline: UInt64) -> Bool {
        Self.wait(fd, for: events, deadline: deadline)
    }

    private static func wait(_ fd: Int32, for events: Int16, deadline: UInt64) -> Bool {
        var pfd = pollfd(fd: fd, events: events, revents: 0)
        while true {
            let rc = poll(&pfd, 1, HookClock.pollMilliseconds(until: deadline))
            if rc > 0 { return true }
            if rc == 0 || errno != EINTR { return rc != 0 }
            if HookClock.now() >= deadline { return false }
        }
    }

    // MARK: - Connect

    /// Tries each resolved address in turn until one connects; the last error otherwise.
    private static func connect(host: String, port: UInt16, deadline: UInt64) -> Result<Int32, Failure> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            return .failure(.failed("cannot resolve \(host): \(String(cString: gai_strerror(rc)))"))
        }
        defer { freeaddrinfo(first) }

        var lastFailure = Failure.failed("no address for \(host)")
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            cursor = info.pointee.ai_next
            if HookClock.now() >= deadline { return .failure(.timedOut) }
            switch connect(info.pointee, deadline: deadline) {
            case .success(let fd): return .success(fd)
            case .failure(.timedOut): return .failure(.timedOut)
            case .failure(let failure): lastFailure = failure
            }
        }
        return .failure(lastFailure)
    }

    private static func connect(_ info: addrinfo, deadline: UInt64) -> Result<Int32, Failure> {
        let fd = socket(info.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        if fd < 0 { return .failure(.failed(describe("socket", errno))) }
        if Glibc.connect(fd, info.ai_addr, info.ai_addrlen) == 0 { return .success(fd) }
        guard errno == EINPROGRESS || errno == EINTR else {
            let error = errno
            close(fd)
            return .failure(.failed(describe("connect", error)))
        }
        // Wait for the TCP handshake, then read its outcome from SO_ERROR.
        guard wait(fd, for: Int16(POLLOUT), deadline: deadline) else {
            close(fd)
            return .failure(.timedOut)
        }
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        if getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0 { error = errno }
        if error != 0 {
            close(fd)
            return .failure(.failed(describe("connect", error)))
        }
        return .success(fd)
    }

    /// "connection refused", "connect: Network is unreachable": the common case in the words people expect.
    private static func describe(_ operation: String, _ error: Int32) -> String {
        switch error {
        case ECONNREFUSED: return "connection refused"
        case ECONNRESET: return "connection reset"
        case ETIMEDOUT: return "connection timed out"
        default: return "\(operation): \(String(cString: strerror(error)))"
        }
    }
}
