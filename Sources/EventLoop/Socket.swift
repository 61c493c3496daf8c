// Non-blocking TCP socket operations on a typed descriptor, each through the one syscall helper.
import CLinuxShims
import Glibc

public struct SocketDescriptor: Hashable, Sendable {
    public let raw: Int32
    public init(raw: Int32) { self.raw = raw }

    public func close() { _ = Glibc.close(raw) }

    // MARK: setup

    /// A non-blocking listening socket. `reusePort`: SO_REUSEPORT, so every event loop binds its own and
    /// the kernel spreads accepts — only for the proxy's listeners: with it, any socket of the same user
    /// that sets it may share the port (a second instance, or a bind to port 0 the kernel gives the same
    /// port), and connections would silently go to either.
    public static func listen(on address: SocketAddress, backlog: Int32 = 1024, reusePort: Bool = false) throws(Errno) -> SocketDescriptor {
        let fd = try checkedSyscall {
            socket(address.family, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        }
        let sock = SocketDescriptor(raw: fd)
        do {
            try sock.setOption(SOL_SOCKET, SO_REUSEADDR, 1)
            if reusePort { try sock.setOption(SOL_SOCKET, SO_REUSEPORT, 1) }
            _ = try checkedSyscall { address.withSockAddr { bind(fd, $0, $1) } }
            _ = try checkedSyscall { Glibc.listen(fd, backlog) }
        } catch {
            sock.close()
            throw error
        }
        return sock
    }

    /// The address the socket is bound to: after a bind to port 0, the port the kernel chose.
    public func localAddress() throws(Errno) -> SocketAddress {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = try checkedSyscall {
            withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(raw, $0, &length) }
            }
        }
        return SocketAddress(storage: storage, length: length)
    }

    /// Starts a non-blocking connect. `.value(true)`: connected at once; `.value(false)`: in progress (wait for writable,
    /// then `pendingError()`).
    public static func connect(to address: SocketAddress) throws(Errno) -> (SocketDescriptor, Bool) {
        let fd = try checkedSyscall {
            socket(address.family, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        }
        let sock = SocketDescriptor(raw: fd)
        if address.family == AF_INET || address.family == AF_INET6 { try? sock.setOption(Int32(IPPROTO_TCP), TCP_NODELAY, 1) }
        while true {
            let rc = address.withSockAddr { Glibc.connect(fd, $0, $1) }
            if rc == 0 { return (sock, true) }
            let err = cg_errno()
            if err == EINTR { continue }
            if err == EINPROGRESS { return (sock, false) }
            sock.close()
            throw Errno(err)
        }
    }

    public func setOption(_ level: Int32, _ name: Int32, _ value: Int32) throws(Errno) {
        var v = value
        _ = try checkedSyscall { setsockopt(raw, level, name, &v, socklen_t(MemoryLayout<Int32>.size)) }
    }

    /// The outcome of a non-blocking connect (SO_ERROR), nil when it succeeded.
    public func pendingError() -> Errno? {
        var value: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        if getsockopt(raw, SOL_SOCKET, SO_ERROR, &value, &len) != 0 { return Errno.current }
        return value == 0 ? nil : Errno(value)
    }

    /// Sets SO_LINGER 0 so close() sends RST: used when a connection must not be reused by mistake.
    public func setLingerZero() {
        var l = linger(l_onoff: 1, l_linger: 0)
        _ = setsockopt(raw, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size))
    }

    // MARK: data

    public func accept(peer: inout SocketAddress?) throws(Errno) -> IOResult<SocketDescriptor> {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = try retryingSyscall {
            withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    accept4(raw, $0, &len, Int32(SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue))
                }
            }
        }
        switch result {
        case .wouldBlock: return .wouldBlock
        case .value(let fd):
            peer = SocketAddress(storage: storage, length: len)
            return .value(SocketDescriptor(raw: fd))
        }
    }

    /// Reads into `buffer`; `.value(0)` is end of stream.
    @inline(__always)
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> IOResult<Int> {
        try retryingSyscall { Glibc.read(raw, buffer.baseAddress, buffer.count) }
    }

    /// Sends `buffer` without raising SIGPIPE.
    @inline(__always)
    public func write(_ buffer: UnsafeRawBufferPointer) throws(Errno) -> IOResult<Int> {
        try retryingSyscall { send(raw, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Gathers two buffers (head + body) into one send.
    @inline(__always)
    public func write(_ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer) throws(Errno) -> IOResult<Int> {
        var iov = (
            iovec(iov_base: UnsafeMutableRawPointer(mutating: first.baseAddress), iov_len: first.count),
            iovec(iov_base: UnsafeMutableRawPointer(mutating: second.baseAddress), iov_len: second.count)
        )
        return try withUnsafeMutablePointer(to: &iov) { (ptr) throws(Errno) -> IOResult<Int> in
            try ptr.withMemoryRebound(to: iovec.self, capacity: 2) { (vec) throws(Errno) -> IOResult<Int> in
                var msg = msghdr()
                msg.msg_iov = vec
                msg.msg_iovlen = 2
                return try retryingSyscall { sendmsg(raw, &msg, Int32(MSG_NOSIGNAL)) }
            }
        }
    }

    public func shutdownWrite() { _ = shutdown(raw, Int32(SHUT_WR)) }
}
