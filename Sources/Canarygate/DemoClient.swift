// A blocking keep-alive HTTP/1.1 client for the demo load (Content-Length responses only).
import EventLoop
import Glibc

final class DemoClient {
    private let fd: Int32
    private var pending = [UInt8]()

    init(port: UInt16) throws {
        let address = try SocketAddress.resolve(host: "127.0.0.1", port: port)
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        var tv = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let rc = address.withSockAddr { connect(fd, $0, $1) }
        if rc != 0 { close(fd); throw Errno.current }
    }

    deinit { close(fd) }

    /// Sends one GET and returns (status, body), or nil on a broken connection.
    func get(_ path: String) -> (Int, String)? {
        guard writeAll(SocketDescriptor(raw: fd), Array("GET \(path) HTTP/1.1\r\nHost: demo\r\n\r\n".utf8)) else { return nil }
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            if let end = headEnd(pending) {
                let head = String(decoding: pending[0..<end], as: UTF8.self)
                let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
                var length = 0
                for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("content-length:") {
                    length = Int(line.dropFirst(15).trimmingPrefixSpaces()) ?? 0
                }
                while pending.count < end + length {
                    let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                    if n <= 0 { return nil }
                    pending += chunk[0..<n]
                }
                let body = String(decoding: pending[end..<(end + length)], as: UTF8.self)
                pending.removeFirst(end + length)
                return (status, body)
            }
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { return nil }
            pending += chunk[0..<n]
        }
    }
}

extension Substring {
    func trimmingPrefixSpaces() -> Substring { drop(while: { $0 == " " }) }
}
