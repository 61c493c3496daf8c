// An upstream that records the exact bytes the proxy sends it and answers with canned bytes: for checks on framing as relayed.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One connection at a time, each served on the accept thread: reads until `isComplete` says the
/// request is whole (or the proxy closes, or 3 s pass), records the bytes, then sends `response`
/// and closes. Tests that need keep-alive or concurrency use TestUpstream.
final class RawUpstream: @unchecked Sendable {
    let port: UInt16
    var endpoint: String { "127.0.0.1:\(port)" }
    private let listenFD: Int32
    private let lock = NSLock()
    private var received: [[UInt8]] = []
    private var stopping = false
    private let done = DispatchSemaphore(value: 0)

    /// `isComplete` sees everything received so far on the connection.
    init(response: [UInt8], isComplete: @escaping @Sendable ([UInt8]) -> Bool) throws {
        (listenFD, port) = try Posix.listen()
        let thread = Thread { [self] in
            defer { done.signal() }
            while true {
                let fd = accept(listenFD, nil, nil)
                if fd < 0 { return }
                if lock.withLock({ stopping }) { close(fd); return }
                var bytes: [UInt8] = []
                var scratch = [UInt8](repeating: 0, count: 65536)
                let deadline = Date().addingTimeInterval(3)
                while !isComplete(bytes) && Date() < deadline {
                    guard Posix.waitReadable(fd, timeout: 0.1) else { continue }
                    let n = recv(fd, &scratch, scratch.count, 0)
                    if n <= 0 { break }
                    bytes += scratch[..<n]
                }
                lock.withLock { received.append(bytes) }
                if isComplete(bytes) { try? Posix.sendAll(fd, response) }
                close(fd)
            }
        }
        thread.start()
    }

    /// What each accepted connection carried, in order.
    var connections: [[UInt8]] { lock.withLock { received } }

    func stop() {
        lock.withLock { stopping = true }
        shutdown(listenFD, Int32(SHUT_RDWR))
        close(listenFD)
        _ = done.wait(timeout: .now() + 5)
    }

    /// The bytes after the first blank line (the head's end).
    static func body(of bytes: [UInt8]) -> [UInt8] {
        guard let end = bytes.firstRange(of: [13, 10, 13, 10]) else { return [] }
        return Array(bytes[end.upperBound...])
    }

    /// A chunked body is complete once it ends with a blank line after a last chunk.
    static func chunkedComplete(_ bytes: [UInt8]) -> Bool {
        let body = body(of: bytes)
        return body.starts(with: [48, 13, 10]) && body.count >= 5 && body.suffix(4) == [13, 10, 13, 10]
            || body.firstRange(of: Array("\r\n0\r\n".utf8)) != nil && body.suffix(4) == [13, 10, 13, 10]
    }
}
