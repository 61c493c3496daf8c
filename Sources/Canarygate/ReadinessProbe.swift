// Checks that every endpoint of an arm is ready (TCP connect, or HTTP GET answering 2xx) on a worker thread.
import CLinuxShims
import Config
import EventLoop
import Glibc

enum ReadinessProbe {
    /// One endpoint's answer: not ready, or ready and (with `revisionHeader`) the revision it reports
    /// ("" when the header is missing: a primary that does not say cannot be taken to run the new revision).
    enum Answer: Sendable, Equatable {
        case notReady
        case ready(revision: String?)
    }

    /// Probes `endpoints` one after the other on a worker thread; `completion` gets their answers in order.
    static func start(endpoints: [HostPort], config: ReadinessConfig, completion: @escaping @Sendable ([Answer]) -> Void) {
        let timeoutMs = Int32(max(1, min(60_000, config.timeout.nanoseconds / 1_000_000)))
        LoopThread.spawn {
            completion(endpoints.map { probe($0, config.probe, revisionHeader: config.revisionHeader, timeoutMilliseconds: timeoutMs) })
        }.detach()
    }

    /// The response head is read up to this size; a longer one fails the probe.
    static let maxHeadBytes = 16 * 1024

    static func probe(
        _ endpoint: HostPort, _ kind: Config.ReadinessProbe, revisionHeader: String?,
        timeoutMilliseconds: Int32
    ) -> Answer {
        guard let address = try? SocketAddress.resolve(host: endpoint.host, port: endpoint.port),
            let (fd, connected) = try? SocketDescriptor.connect(to: address)
        else { return .notReady }
        defer { fd.close() }
        if !connected {
            var pfd = pollfd(fd: fd.raw, events: Int16(POLLOUT), revents: 0)
            guard poll(&pfd, 1, timeoutMilliseconds) > 0, fd.pendingError() == nil else { return .notReady }
        }
        guard case .http(let path) = kind else { return .ready(revision: nil) }
        let request = Array(
            "GET \(path) HTTP/1.1\r\nHost: \(endpoint)\r\nUser-Agent: canarygate-readiness\r\nConnection: close\r\n\r\n".utf8)
        var sent = 0
        while sent < request.count {
            var pfd = pollfd(fd: fd.raw, events: Int16(POLLOUT), revents: 0)
            guard poll(&pfd, 1, timeoutMilliseconds) > 0 else { return .notReady }
            let n = request.withUnsafeBytes { send(fd.raw, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { return .notReady }
            sent += n
        }
        // Without a revision header the status line is all we need; with one, the whole head.
        let needed = revisionHeader == nil ? 12 : maxHeadBytes
        var head = [UInt8](repeating: 0, count: needed)
        var got = 0
        while got < needed && (revisionHeader == nil || !endsHead(head[..<got])) {
            var pfd = pollfd(fd: fd.raw, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, timeoutMilliseconds) > 0 else { return .notReady }
            let n = head.withUnsafeMutableBytes { recv(fd.raw, $0.baseAddress! + got, $0.count - got, 0) }
            guard n > 0 else { break }
            got += n
        }
        guard got >= 12, head[9] == UInt8(ascii: "2"), head[0..<5].elementsEqual(Array("HTTP/".utf8)) else { return .notReady }
        guard let revisionHeader else { return .ready(revision: nil) }
        guard endsHead(head[..<got]) else { return .notReady }
        return .ready(revision: field(named: revisionHeader, in: head[..<got]) ?? "")
    }

    private static func endsHead(_ bytes: ArraySlice<UInt8>) -> Bool {
        bytes.count >= 4
            && bytes.indices.dropLast(3).contains { bytes[$0] == 13 && bytes[$0 + 1] == 10 && bytes[$0 + 2] == 13 && bytes[$0 + 3] == 10 }
    }

    /// The value of the first field called `name` (any case) in a response head, without surrounding white space.
    static func field(named name: String, in head: ArraySlice<UInt8>) -> String? {
        let text = String(decoding: head, as: UTF8.self)
        for line in text.split(separator: "\r\n").dropFirst() {
            guard let colon = line.firstIndex(of: ":"), line[..<colon].lowercased() == name.lowercased() else { continue }
            var value = line[line.index(after: colon)...]
            while let first = value.first, first == " " || first == "\t" { value.removeFirst() }
            while let last = value.last, last == " " || last == "\t" { value.removeLast() }
            return String(value)
        }
        return nil
    }
}
