// Checks that every canary endpoint is ready (TCP connect, or HTTP GET answering 2xx) on a worker thread.
import CLinuxShims
import Config
import EventLoop
import Glibc

enum ReadinessProbe {
    /// Probes all `endpoints` and calls `completion(true)` only if every one of them is ready.
    static func start(endpoints: [HostPort], config: ReadinessConfig, completion: @escaping @Sendable (Bool) -> Void) {
        let timeoutMs = Int32(max(1, min(60_000, config.timeout.nanoseconds / 1_000_000)))
        LoopThread.spawn {
            let ready = endpoints.allSatisfy { probe($0, config.probe, timeoutMilliseconds: timeoutMs) }
            completion(ready)
        }.detach()
    }

    static func probe(_ endpoint: HostPort, _ kind: Config.ReadinessProbe, timeoutMilliseconds: Int32) -> Bool {
        guard let address = try? SocketAddress.resolve(host: endpoint.host, port: endpoint.port),
              let (fd, connected) = try? SocketDescriptor.connect(to: address) else { return false }
        defer { fd.close() }
        if !connected {
            var pfd = pollfd(fd: fd.raw, events: Int16(POLLOUT), revents: 0)
            guard poll(&pfd, 1, timeoutMilliseconds) > 0, fd.pendingError() == nil else { return false }
        }
        guard case .http(let path) = kind else { return true }
        let request = Array("GET \(path) HTTP/1.1\r\nHost: \(endpoint)\r\nUser-Agent: canarygate-readiness\r\nConnection: close\r\n\r\n".utf8)
        var sent = 0
        while sent < request.count {
            var pfd = pollfd(fd: fd.raw, events: Int16(POLLOUT), revents: 0)
            guard poll(&pfd, 1, timeoutMilliseconds) > 0 else { return false }
            let n = request.withUnsafeBytes { send(fd.raw, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { return false }
            sent += n
        }
        // The status line is all we need: "HTTP/1.1 2xx".
        var head = [UInt8](repeating: 0, count: 64)
        var got = 0
        while got < 12 {
            var pfd = pollfd(fd: fd.raw, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, timeoutMilliseconds) > 0 else { return false }
            let n = head.withUnsafeMutableBytes { recv(fd.raw, $0.baseAddress! + got, $0.count - got, 0) }
            guard n > 0 else { return false }
            got += n
        }
        return head[9] == UInt8(ascii: "2") && head[0..<5].elementsEqual(Array("HTTP/".utf8))
    }
}
