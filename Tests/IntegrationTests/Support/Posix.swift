// Blocking loopback TCP sockets for the harness: listen, connect, timed send/recv, reset-close.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Why a socket operation failed. Timeouts and peer resets are told apart because tests assert on them.
enum SocketError: Error, CustomStringConvertible, Equatable {
    case timedOut(String)
    case reset(String)
    case failed(String, Int32)

    var description: String {
        switch self {
        case .timedOut(let op): return "\(op): timed out"
        case .reset(let op): return "\(op): connection reset by peer"
        case .failed(let op, let code): return "\(op): \(String(cString: strerror(code))) (errno \(code))"
        }
    }
}

enum Posix {
    /// Writing to a socket the peer closed must be an error, not a process-killing SIGPIPE.
    /// (`send` also passes MSG_NOSIGNAL; this covers anything else.)
    static let ignoreSIGPIPE: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

    static func loopbackAddress(port: UInt16) -> sockaddr_in {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(port).bigEndian
        addr.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return addr
    }

    static func newTCPSocket() throws -> Int32 {
        _ = ignoreSIGPIPE
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        if fd < 0 { throw SocketError.failed("socket", errno) }
        return fd
    }

    /// A listening socket on 127.0.0.1; `port` 0 lets the kernel choose. Returns the fd and the bound port.
    static func listen(port: UInt16 = 0, backlog: Int32 = 128) throws -> (fd: Int32, port: UInt16) {
        let fd = try newTCPSocket()
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = loopbackAddress(port: port)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if bound != 0 { let e = errno; close(fd); throw SocketError.failed("bind", e) }
        if Glibc.listen(fd, backlog) != 0 { let e = errno; close(fd); throw SocketError.failed("listen", e) }
        return (fd, try localPort(fd))
    }

    static func localPort(_ fd: Int32) throws -> UInt16 {
        var addr = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let rc = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        if rc != 0 { throw SocketError.failed("getsockname", errno) }
        return UInt16(bigEndian: addr.sin_port)
    }

    /// A port that was free a moment ago (bound to port 0, read back, closed). The kernel hands out
    /// ephemeral ports in a spread-out order, so a reuse before the proxy binds it is very unlikely;
    /// `ProxyProcess` retries with fresh ports if the proxy fails to bind anyway.
    static func freePort() throws -> UInt16 {
        let (fd, port) = try listen(port: 0, backlog: 1)
        close(fd)
        return port
    }

    /// A blocking connection to 127.0.0.1:port, with the connect itself bounded by `timeout`.
    static func connect(port: UInt16, timeout: Double) throws -> Int32 {
        let fd = try newTCPSocket()
        setTimeouts(fd, receive: timeout, send: timeout)  // Linux bounds a blocking connect by SO_SNDTIMEO.
        var addr = loopbackAddress(port: port)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if rc != 0 {
            let e = errno
            close(fd)
            if e == EINPROGRESS || e == EAGAIN { throw SocketError.timedOut("connect to \(port)") }
            throw SocketError.failed("connect to \(port)", e)
        }
        setNoDelay(fd)
        return fd
    }

    /// Small writes go out at once: the tests time what the proxy does, not Nagle's algorithm.
    static func setNoDelay(_ fd: Int32) {
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Starts a connect and returns at once (used to fill a listener's accept queue).
    static func connectNonBlocking(port: UInt16) throws -> Int32 {
        let fd = try newTCPSocket()
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        var addr = loopbackAddress(port: port)
        _ = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        return fd
    }

    static func setTimeouts(_ fd: Int32, receive: Double, send: Double) {
        var rcv = timeval(seconds: receive)
        var snd = timeval(seconds: send)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rcv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &snd, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Sends every byte or throws. MSG_NOSIGNAL: a closed peer is an error value, not SIGPIPE.
    static func sendAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, op: String = "send") throws {
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.send(fd, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            if n > 0 { offset += n; continue }
            let e = errno
            if n < 0 && e == EINTR { continue }
            if e == EAGAIN || e == EWOULDBLOCK { throw SocketError.timedOut(op) }
            if e == ECONNRESET || e == EPIPE { throw SocketError.reset(op) }
            throw SocketError.failed(op, e)
        }
    }

    static func sendAll(_ fd: Int32, _ bytes: [UInt8], op: String = "send") throws {
        if bytes.isEmpty { return }
        try bytes.withUnsafeBytes { try sendAll(fd, $0, op: op) }
    }

    /// Reads up to `into.count` bytes. Returns 0 at end of stream; throws on timeout or reset.
    static func receive(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, op: String = "recv") throws -> Int {
        while true {
            let n = recv(fd, buffer.baseAddress!, buffer.count, 0)
            if n >= 0 { return n }
            let e = errno
            if e == EINTR { continue }
            if e == EAGAIN || e == EWOULDBLOCK { throw SocketError.timedOut(op) }
            if e == ECONNRESET { throw SocketError.reset(op) }
            throw SocketError.failed(op, e)
        }
    }

    /// Waits until `fd` is readable (data or EOF) or `timeout` passes.
    static func waitReadable(_ fd: Int32, timeout: Double) -> Bool {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let remaining = max(0, deadline.timeIntervalSinceNow)
            let rc = poll(&pfd, 1, Int32(remaining * 1000))
            if rc > 0 { return true }
            if rc == 0 { return false }
            if errno != EINTR { return true }
        }
    }

    /// Closes with SO_LINGER 0, so the peer sees a TCP RST instead of a FIN.
    static func resetClose(_ fd: Int32) {
        var lingerOpt = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lingerOpt, socklen_t(MemoryLayout<linger>.size))
        close(fd)
    }
}

extension Posix {
    /// True when a connect to 127.0.0.1:port is refused (nothing listens there).
    static func connectRefused(port: UInt16) -> Bool {
        do {
            close(try connect(port: port, timeout: 0.5))
            return false
        } catch SocketError.failed(_, let code) where code == ECONNREFUSED {
            return true
        } catch {
            return false
        }
    }

    /// Polls `condition` every 20 ms until it holds or `timeout` seconds pass; returns whether it held.
    static func waitUntil(timeout: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while !condition() {
            if Date() > deadline { return false }
            usleep(20_000)
        }
        return true
    }
}

extension timeval {
    init(seconds: Double) {
        let whole = Int(seconds)
        self.init(tv_sec: whole, tv_usec: Int((seconds - Double(whole)) * 1_000_000))
    }
}
