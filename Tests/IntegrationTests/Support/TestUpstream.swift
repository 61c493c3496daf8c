// A real HTTP/1.1 server on 127.0.0.1 (thread per connection) that records requests and answers per script.
import CLinuxShims
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Started on an ephemeral port; every blocking call is bounded (poll + SO_RCVTIMEO) and `stop()`
/// shuts every socket down, so no thread outlives the test.
final class TestUpstream: @unchecked Sendable {
    let name: String
    let port: UInt16
    var endpoint: String { "127.0.0.1:\(port)" }

    /// Body bytes kept per recorded request (the count is always exact).
    static let keptBodyBytes = 1 << 20
    /// Longest silence tolerated in the middle of a request before the connection is dropped.
    static let midMessageTimeout = 10.0

    private let handler: UpstreamHandler
    private let honourExpectContinue: Bool
    private let listenFD: Int32
    private let lock = NSLock()
    private var stopping = false
    private var openFDs: Set<Int32> = []
    private var log: [RecordedRequest] = []
    private var nextConnectionID = 1
    private var accepted = 0
    private var peerEndedHangs = 0
    private let threads = DispatchGroup()

    /// `port` 0 (the default) takes an ephemeral port; a fixed one revives an endpoint a test left closed.
    init(
        name: String = "upstream", port: UInt16 = 0, honourExpectContinue: Bool = true,
        handler: @escaping UpstreamHandler
    ) throws {
        self.name = name
        self.handler = handler
        self.honourExpectContinue = honourExpectContinue
        (listenFD, self.port) = try Posix.listen(port: port, backlog: 256)
        // accept() honours SO_RCVTIMEO on Linux: the accept loop wakes to check `stopping`.
        Posix.setTimeouts(listenFD, receive: 0.2, send: 0.2)
        threads.enter()
        let thread = Thread { [self] in
            acceptLoop()
            threads.leave()
        }
        thread.name = "\(name)-accept"
        thread.start()
    }

    /// A server that answers every request with `text` (200, Content-Length).
    convenience init(name: String = "upstream", port: UInt16 = 0, text: String) throws {
        try self.init(name: name, port: port) { _ in .text(text) }
    }

    deinit { stop() }

    // MARK: - What was received

    var requests: [RecordedRequest] { lock.withLock { log } }
    var requestCount: Int { lock.withLock { log.count } }
    /// TCP connections accepted so far.
    var connectionCount: Int { lock.withLock { accepted } }
    /// TCP connections open right now (accepted and not yet closed by either side).
    var openConnections: Int { lock.withLock { openFDs.count } }
    /// `.hang` requests whose connection the peer (the proxy) closed while they waited.
    var hangsEndedByPeer: Int { lock.withLock { peerEndedHangs } }
    /// How many distinct connections carried the recorded requests.
    var distinctConnections: Int { Set(requests.map(\.connectionID)).count }

    /// Waits (bounded) until at least `count` requests are recorded.
    @discardableResult
    func waitForRequests(_ count: Int, timeout: Double = 3) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while requestCount < count {
            if Date() > deadline { return false }
            usleep(5_000)
        }
        return true
    }

    /// Waits (bounded) until at most `count` connections are open, e.g. until the proxy closed its pooled ones.
    @discardableResult
    func waitForOpenConnections(atMost count: Int, timeout: Double = 3) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while openConnections > count {
            if Date() > deadline { return false }
            usleep(5_000)
        }
        return true
    }

    // MARK: - Lifecycle

    func stop() {
        let wasStopping = lock.withLock { () -> Bool in
            let was = stopping
            stopping = true
            if !was {
                shutdown(listenFD, Int32(SHUT_RDWR))
                for fd in openFDs { shutdown(fd, Int32(SHUT_RDWR)) }
            }
            return was
        }
        if wasStopping { return }
        // Every thread wakes within its poll/SO_RCVTIMEO step; the bound is a last resort.
        _ = threads.wait(timeout: .now() + 5)
        close(listenFD)
    }

    private var isStopping: Bool { lock.withLock { stopping } }

    private func acceptLoop() {
        while !isStopping {
            let fd = accept(listenFD, nil, nil)
            if fd < 0 {
                if errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED { continue }
                if errno == EMFILE || errno == ENFILE { usleep(10_000); continue }
                return  // shut down
            }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)  // accept4 is hidden by Glibc's module map.
            Posix.setNoDelay(fd)
            Posix.setTimeouts(fd, receive: Self.midMessageTimeout, send: Self.midMessageTimeout)
            let id: Int? = lock.withLock {
                if stopping { return nil }
                openFDs.insert(fd)
                accepted += 1
                defer { nextConnectionID += 1 }
                return nextConnectionID
            }
            guard let id else { close(fd); return }
            threads.enter()
            let thread = Thread { [self] in
                serve(fd: fd, connectionID: id)
                threads.leave()
            }
            thread.name = "\(name)-conn\(id)"
            thread.start()
        }
    }

    /// Closes `fd` once; `resetClose` sends an RST instead of a FIN.
    private func finish(_ fd: Int32, reset: Bool = false) {
        lock.withLock {
            guard openFDs.remove(fd) != nil else { return }
            if reset { Posix.resetClose(fd) } else { close(fd) }
        }
    }

    private func sleepUnlessStopping(_ seconds: Double) {
        let deadline = Date().addingTimeInterval(seconds)
        while !isStopping && Date() < deadline { usleep(5_000) }
    }

    // MARK: - One connection

    private func serve(fd: Int32, connectionID: Int) {
        let reader = WireReader(fd: fd)
        var index = 0
        var resetAtEnd = false
        defer { finish(fd, reset: resetAtEnd) }
        do {
            while !isStopping {
                // Between requests: wait in short steps so `stop()` is noticed (it also shuts the socket).
                if reader.bufferedCount == 0 && !Posix.waitReadable(fd, timeout: 0.2) { continue }
                guard let head = try reader.readHead(what: "request head") else { return }
                index += 1
                guard var request = Self.parseRequest(head, connectionID: connectionID, index: index) else {
                    try? Posix.sendAll(fd, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".bytes)
                    return
                }
                let action = handler(request)
                switch action {
                case .reset, .raw, .close:
                    try readBody(&request, reader: reader, fd: fd, pause: nil, echo: nil)
                    record(request)
                    switch action {
                    case .raw(let bytes): try? Posix.sendAll(fd, bytes)
                    case .reset: resetAtEnd = true
                    default: break
                    }
                    return
                case .hang(let seconds):
                    try readBody(&request, reader: reader, fd: fd, pause: nil, echo: nil)
                    record(request)
                    if waitForPeerClose(fd, seconds: seconds) { lock.withLock { peerEndedHangs += 1 } }
                    return
                case .respond(let response):
                    let keepGoing = try respond(response, to: &request, reader: reader, fd: fd)
                    if !keepGoing { return }
                }
            }
        } catch {
            // The peer went away or misbehaved: the connection just ends (requests so far are recorded).
        }
    }

    /// Waits, answering nothing, until the peer closes `fd` (EOF or reset: true), or `seconds` pass or
    /// the upstream stops (false). Bytes the peer sends meanwhile are dropped.
    private func waitForPeerClose(_ fd: Int32, seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        var scratch = [UInt8](repeating: 0, count: 4096)
        while !isStopping {
            let remaining = deadline.timeIntervalSinceNow
            if remaining <= 0 { return false }
            // Short steps, so that `stop()` is noticed (it also shuts the socket, which reads as EOF).
            guard Posix.waitReadable(fd, timeout: min(remaining, 0.2)) else { continue }
            let n = recv(fd, &scratch, scratch.count, Int32(MSG_DONTWAIT))
            if n == 0 { return !isStopping }
            if n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR { return !isStopping }
        }
        return false
    }

    static func parseRequest(_ head: WireHead, connectionID: Int, index: Int) -> RecordedRequest? {
        let parts = head.startLine.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return nil }
        var request = RecordedRequest(
            connectionID: connectionID, indexOnConnection: index, method: String(parts[0]),
            target: String(parts[1]), version: String(parts[2]), headers: head.fields)
        if head.fields.tokens("transfer-encoding").last == "chunked" {
            request.framing = .chunked
        } else if let cl = head.fields["content-length"] {
            guard let n = Int(cl), n >= 0 else { return nil }
            request.framing = n > 0 ? .contentLength(n) : .none
        }
        return request
    }

    private func record(_ request: RecordedRequest) {
        lock.withLock { log.append(request) }
    }

    /// Reads the request body into `request` (count, kept prefix, pattern check), optionally pausing
    /// and optionally streaming each piece to `echo`.
    private func readBody(
        _ request: inout RecordedRequest, reader: WireReader, fd: Int32, pause: ReadPause?,
        echo: ((UnsafeRawBufferPointer) throws -> Void)?
    ) throws {
        var verifier = PatternVerifier()
        verifier.checksumLimit = 0
        var paused = false
        var kept: [UInt8] = []
        var count = 0
        defer {
            request.bodyCount = count
            request.body = kept
            request.bodyMatchesPattern = verifier.intact
        }
        let sink: (UnsafeRawBufferPointer) throws -> Void = { piece in
            if kept.count < Self.keptBodyBytes { kept.append(contentsOf: piece.prefix(Self.keptBodyBytes - kept.count)) }
            verifier.consume(piece)
            count += piece.count
            try echo?(piece)
            if let pause, !paused, count >= pause.afterBytes {
                paused = true
                self.sleepUnlessStopping(pause.seconds)
            }
        }
        do {
            request.trailers = try reader.readBody(request.framing, what: "request body", sink: sink)
            request.complete = true
        } catch {
            // Recorded incomplete, so a test can see that a broken body reached the upstream at all.
            var partial = request
            partial.bodyCount = count
            partial.body = kept
            partial.bodyMatchesPattern = verifier.intact
            record(partial)
            throw error
        }
    }

    /// Sends one response; returns whether the connection stays open for another request.
    private func respond(
        _ response: UpstreamResponse, to request: inout RecordedRequest,
        reader: WireReader, fd: Int32
    ) throws -> Bool {
        let expectsContinue = request.headers["expect"]?.lowercased() == "100-continue"
        if expectsContinue && honourExpectContinue && request.framing != .none {
            try Posix.sendAll(fd, "HTTP/1.1 100 Continue\r\n\r\n".bytes)
        }
        var head = "HTTP/1.1 \(response.status) \(response.reason ?? HTTPText.reason(for: response.status))\r\n"
        for field in response.headers { head += "\(field.name): \(field.value)\r\n" }
        let hasLength = response.headers.has("content-length")
        let hasTE = response.headers.has("transfer-encoding")

        switch response.body {
        case .echo(let framing) where framing == .chunked || framing == .untilClose:
            let chunked = framing == .chunked
            sleepUnlessStopping(response.delay)
            if chunked && !hasTE { head += "Transfer-Encoding: chunked\r\n" }
            try Posix.sendAll(fd, (head + "\r\n").bytes)
            try readBody(&request, reader: reader, fd: fd, pause: response.pauseReading) { piece in
                if chunked { try Posix.sendAll(fd, HTTPText.chunkHeader(piece.count)) }
                try Posix.sendAll(fd, piece)
                if chunked { try Posix.sendAll(fd, [13, 10]) }
            }
            record(request)
            if chunked { try Posix.sendAll(fd, HTTPText.lastChunk) }
            return chunked ? try after(response.after, request: request, fd: fd) : false
        default:
            try readBody(&request, reader: reader, fd: fd, pause: response.pauseReading, echo: nil)
        }
        record(request)
        sleepUnlessStopping(response.delay)
        if isStopping { return false }

        var payload: [UInt8] = []
        var closeDelimited = false
        switch response.body {
        case .fixed(let body):
            if !hasLength { head += "Content-Length: \(body.count)\r\n" }
            payload = body
        case .echo:
            if !hasLength { head += "Content-Length: \(request.body.count)\r\n" }
            payload = request.body
        case .chunked(let pieces):
            if !hasTE { head += "Transfer-Encoding: chunked\r\n" }
            payload = HTTPText.chunked(pieces)
        case .closeDelimited(let body):
            payload = body
            closeDelimited = true
        case .none:
            break
        case .pattern(let count, let chunked):
            head += chunked ? "Transfer-Encoding: chunked\r\n" : "Content-Length: \(count)\r\n"
            try Posix.sendAll(fd, (head + "\r\n").bytes)
            try BodyPattern.generate(count: count) { piece in
                if chunked { try Posix.sendAll(fd, HTTPText.chunkHeader(piece.count)) }
                try Posix.sendAll(fd, piece)
                if chunked { try Posix.sendAll(fd, [13, 10]) }
            }
            if chunked { try Posix.sendAll(fd, HTTPText.lastChunk) }
            return try after(response.after, request: request, fd: fd)
        }
        // Head and a small body in one send, as real servers do.
        try Posix.sendAll(fd, (head + "\r\n").bytes + payload)
        if closeDelimited { return false }
        return try after(response.after, request: request, fd: fd)
    }

    private func after(_ after: AfterResponse, request: RecordedRequest, fd: Int32) throws -> Bool {
        if request.headers.tokens("connection").contains("close") { return false }
        switch after {
        case .keepAlive: return true
        case .close: return false
        case .closeAfter(let seconds):
            // Do not read: a request the proxy sends meanwhile goes unanswered, as with a real server
            // whose keep-alive timeout fired.
            sleepUnlessStopping(seconds)
            return false
        }
    }
}
