// A one-shot client for the admin API, used by the command line (`canarygate reload`, `status`, the rollout verbs).
import EventLoop
import Glibc

public enum AdminClient {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Sends `method path` to `address` ("host:port", "[v6]:port"), with `token` as a bearer token if
    /// given, and returns the status and body. `Host` is `address`, a name the admin API accepts as its own.
    public static func request(_ method: String, address: String, path: String, token: String? = nil) throws -> (Int, String) {
        guard let colon = address.lastIndex(of: ":"), let port = UInt16(address[address.index(after: colon)...]) else {
            throw Failure(description: "bad admin address \(address)")
        }
        var host = String(address[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let resolved = try SocketAddress.resolve(host: host, port: port)
        let fd = socket(resolved.family, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Errno.current }
        defer { close(fd) }
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        guard resolved.withSockAddr({ connect(fd, $0, $1) }) == 0 else {
            throw Failure(description: "cannot reach the admin API at \(address): \(Errno.current)")
        }
        let authorization = token.map { "Authorization: Bearer \($0)\r\n" } ?? ""
        let head = "\(method) \(path) HTTP/1.1\r\nHost: \(address)\r\n\(authorization)Content-Length: 0\r\nConnection: close\r\n\r\n"
        guard writeAll(SocketDescriptor(raw: fd), Array(head.utf8)) else {
            throw Failure(description: "admin API at \(address) closed the connection")
        }
        var response = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            response += chunk[0..<n]
        }
        guard let end = headEnd(response) else { throw Failure(description: "no response from the admin API at \(address)") }
        let statusLine = String(decoding: response[0..<end], as: UTF8.self).split(separator: " ")
        let status = statusLine.count > 1 ? Int(statusLine[1]) ?? 0 : 0
        return (status, String(decoding: response[end...], as: UTF8.self))
    }
}
