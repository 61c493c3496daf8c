// A tiny blocking HTTP/1.1 backend for `canarygate demo`: answers with its revision name, or with 500s if faulty.
import CLinuxShims
import EventLoop
import Glibc
import Synchronization

final class DemoBackend: Sendable {
    let port: UInt16
    private let listener: SocketDescriptor
    private let stopping = Atomic<Bool>(false)
    /// Percent of requests answered 500 (spread evenly, like the proxy's split).
    private let errorPercent: Int
    private let served = Atomic<Int>(0)

    init(revision: String, errorPercent: Int = 0) throws {
        listener = try SocketDescriptor.listen(on: try SocketAddress.resolve(host: "127.0.0.1", port: 0))
        port = try listener.localAddress().port
        self.errorPercent = errorPercent
        let body = "hello from \(revision)\n"
        LoopThread.spawn { [self] in acceptLoop(body: body) }.detach()
    }

    /// Whether the next response is a failure: every request adds `errorPercent`, each 100 is one 500.
    private func nextFails() -> Bool {
        let n = served.wrappingAdd(1, ordering: .relaxed).oldValue
        return (n + 1) * errorPercent / 100 > n * errorPercent / 100
    }

    func stop() { stopping.store(true, ordering: .releasing) }

    private func acceptLoop(body: String) {
        let ok = Array("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)".utf8)
        let failed = Array("HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\nContent-Length: 7\r\n\r\nfailed\n".utf8)
        acceptEach(listener, pollMilliseconds: 100, isStopping: { stopping.load(ordering: .acquiring) }) { client in
            LoopThread.spawn { self.serve(client, ok: ok, failed: failed) }.detach()
        }
        listener.close()
    }

    /// Keep-alive loop: one response per request head (the demo load sends no bodies).
    private func serve(_ client: SocketDescriptor, ok: [UInt8], failed: [UInt8]) {
        makeBlocking(client, receiveTimeoutSeconds: 5)
        var pending = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(client.raw, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            pending += chunk[0..<n]
            while let end = headEnd(pending) {
                pending.removeFirst(end)
                guard writeAll(client, nextFails() ? failed : ok) else { client.close(); return }
            }
        }
        client.close()
    }
}
