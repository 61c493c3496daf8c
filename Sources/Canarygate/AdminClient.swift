// A one-shot client for the admin API, used by the command line (`canarygate reload`, `status`, the rollout verbs).
import EventLoop
import Glibc

public enum AdminClient {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// The request was given up because `interruptedBy` became readable (a signal came for the caller).
    public struct Interrupted: Error {}

    /// Sends `method path` to `address` ("host:port", "[v6]:port"), with `token` as a bearer token if
    /// given, and returns the status and body. `Host` is `address`, a name the admin API accepts as its own.
    ///
    /// The socket is non-blocking and each wait (the connect, each send, each receive) is a poll of at most
    /// `timeoutMilliseconds`, so an admin API that accepts and never answers, or a host that drops packets,
    /// costs that much and no more. A poll also watches `interruptedBy` (e.g. a signalfd): when it is readable
    /// the request throws `Interrupted` at once, leaving what made it readable to the caller.
    public static func request(
        _ method: String, address: String, path: String, token: String? = nil, timeoutMilliseconds: Int32 = 10_000,
        interruptedBy interrupt: Int32? = nil
    ) throws -> (Int, String) {
        guard let colon = address.lastIndex(of: ":"), let port = UInt16(address[address.index(after: colon)...]) else {
            throw Failure(description: "bad admin address \(address)")
        }
        var host = String(address[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let resolved = try SocketAddress.resolve(host: host, port: port)
        let fd = socket(resolved.family, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue | SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw Errno.current }
        defer { close(fd) }
        let wait = Waiter(fd: fd, interrupt: interrupt, timeoutMilliseconds: timeoutMilliseconds, address: address)

        if resolved.withSockAddr({ connect(fd, $0, $1) }) != 0 {
            guard errno == EINPROGRESS else { throw Failure(description: "cannot reach the admin API at \(address): \(Errno.current)") }
            try wait.until(POLLOUT, doing: "accept the connection")
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            guard error == 0 else { throw Failure(description: "cannot reach the admin API at \(address): \(Errno(error))") }
        }

        let authorization = token.map { "Authorization: Bearer \($0)\r\n" } ?? ""
        let head = Array(
            "\(method) \(path) HTTP/1.1\r\nHost: \(address)\r\n\(authorization)Content-Length: 0\r\nConnection: close\r\n\r\n".utf8)
        var sent = 0
        while sent < head.count {
            let n = head.withUnsafeBytes { send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            if n > 0 {
                sent += n
            } else if n < 0 && (errno == EAGAIN || errno == EINTR) {
                try wait.until(POLLOUT, doing: "take the request")
            } else {
                throw Failure(description: "admin API at \(address) closed the connection")
            }
        }

        var response = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                response += chunk[0..<n]
            } else if n < 0 && (errno == EAGAIN || errno == EINTR) {
                try wait.until(POLLIN, doing: "answer")
            } else {
                break
            }
        }
        guard let end = headEnd(response) else { throw Failure(description: "no response from the admin API at \(address)") }
        let statusLine = String(decoding: response[0..<end], as: UTF8.self).split(separator: " ")
        let status = statusLine.count > 1 ? Int(statusLine[1]) ?? 0 : 0
        return (status, String(decoding: response[end...], as: UTF8.self))
    }

    /// One request's waits: the socket ready for `events`, the interrupt, or the timeout, whichever is first.
    private struct Waiter {
        let fd: Int32
        let interrupt: Int32?
        let timeoutMilliseconds: Int32
        let address: String

        func until(_ events: Int32, doing step: String) throws {
            var fds = [pollfd(fd: fd, events: Int16(events), revents: 0)]
            if let interrupt { fds.append(pollfd(fd: interrupt, events: Int16(POLLIN), revents: 0)) }
            var ready: Int32
            repeat { ready = poll(&fds, nfds_t(fds.count), timeoutMilliseconds) } while ready < 0 && errno == EINTR
            if ready < 0 { throw Errno.current }
            if fds.count > 1 && fds[1].revents != 0 { throw Interrupted() }
            guard ready > 0 else {
                throw Failure(description: "the admin API at \(address) did not \(step) within \(timeoutMilliseconds) ms")
            }
        }
    }
}
