// A webhook hook: one HTTP/1.1 POST over a blocking socket with a deadline; 2xx passes.
#if canImport(Glibc)
import Glibc
#endif

/// A small blocking client rather than the data plane's: it runs on a hook thread, talks to one
/// webhook once per attempt (`Connection: close`), and must never outlive its deadline. The connect
/// is non-blocking with poll so it obeys the deadline too; after it, every send and recv is bounded
/// by SO_SNDTIMEO/SO_RCVTIMEO set to the time left, re-armed before each call.
struct WebhookCall {
    let request: HookRequest
    let url: String

    /// The most of the response kept: the head, and a body prefix for the failure detail.
    static let responseLimit = 16 * 1024
    /// How much of a failing response's body goes into the detail.
    static let bodyInDetail = 200

    func perform(deadline: UInt64) -> HookAttempt {
        let target: HookURL
        switch HookURL.parse(url) {
        case .success(let parsed): target = parsed
        case .failure(let error): return .fail(error.message, retryable: false)
        }
        let timeoutText = "timed out after \(HookClock.describe(request.hook.timeout))"

        let fd: Int32
        switch connect(to: target, deadline: deadline) {
        case .success(let connected): fd = connected
        case .failure(.timedOut): return .fail(timeoutText)
        case .failure(.failed(let message)): return .fail(message)
        }
        defer { close(fd) }

        let body = WebhookPayload(request).json()
        let head = "POST \(target.target) HTTP/1.1\r\n"
            + "Host: \(target.authority)\r\n"
            + "User-Agent: canarygate\r\n"
            + "Content-Type: application/json\r\n"
            + "Accept: */*\r\n"
            + "Content-Length: \(body.count)\r\n"
            + "Connection: close\r\n\r\n"
        switch send(Array(head.utf8) + body, on: fd, deadline: deadline) {
        case .success: break
        case .failure(.timedOut): return .fail(timeoutText)
        case .failure(.failed(let message)): return .fail(message)
        }

        switch receiveResponse(on: fd, deadline: deadline) {
        case .success(let response): return judge(response)
        case .failure(.timedOut): return .fail(timeoutText)
        case .failure(.failed(let message)): return .fail(message)
        }
    }

    // MARK: - Verdict

    /// 2xx passes; anything else fails with the status and the start of the body.
    private func judge(_ response: Response) -> HookAttempt {
        let detail = "HTTP \(response.status)"
        if (200...299).contains(response.status) { return .pass(detail) }
        let text = String(decoding: response.body.prefix(Self.bodyInDetail), as: UTF8.self)
            .split(whereSeparator: \.isNewline).joined(separator: " ")
            .trimmingSpaces()
        return .fail(text.isEmpty ? detail : "\(detail): \(text)")
    }

    // MARK: - Socket

    enum Failure: Error {
        case timedOut
        case failed(String)
    }

    /// Tries each resolved address in turn until one connects; the last error otherwise.
    private func connect(to target: HookURL, deadline: UInt64) -> Result<Int32, Failure> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(target.host, String(target.port), &hints, &list)
        guard rc == 0, let first = list else {
            return .failure(.failed("cannot resolve \(target.host): \(String(cString: gai_strerror(rc)))"))
        }
        defer { freeaddrinfo(first) }

        var lastFailure = Failure.failed("no address for \(target.host)")
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            cursor = info.pointee.ai_next
            if HookClock.now() >= deadline { return .failure(.timedOut) }
            switch connect(info.pointee, deadline: deadline) {
            case .success(let fd): return .success(fd)
            case .failure(.timedOut): return .failure(.timedOut)
            case .failure(let failure): lastFailure = failure
            }
        }
        return .failure(lastFailure)
    }

    private func connect(_ info: addrinfo, deadline: UInt64) -> Result<Int32, Failure> {
        let fd = socket(info.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        if fd < 0 { return .failure(.failed(describe("socket", errno))) }
        var rc = Glibc.connect(fd, info.ai_addr, info.ai_addrlen)
        if rc != 0 && errno != EINPROGRESS && errno != EINTR {
            let error = errno
            close(fd)
            return .failure(.failed(describe("connect", error)))
        }
        if rc != 0 {
            // Wait for the handshake, then read its outcome from SO_ERROR.
            var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            repeat {
                rc = poll(&pfd, 1, HookClock.pollMilliseconds(until: deadline))
            } while rc < 0 && errno == EINTR
            if rc == 0 { close(fd); return .failure(.timedOut) }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            if rc < 0 { error = errno } else { getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) }
            if error != 0 { close(fd); return .failure(.failed(describe("connect", error))) }
        }
        // Blocking from here on, bounded by the socket timeouts.
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK)
        return .success(fd)
    }

    private func send(_ bytes: [UInt8], on fd: Int32, deadline: UInt64) -> Result<Void, Failure> {
        var sent = 0
        while sent < bytes.count {
            guard armTimeout(SO_SNDTIMEO, on: fd, deadline: deadline) else { return .failure(.timedOut) }
            let n = bytes.withUnsafeBytes { raw in
                Glibc.send(fd, raw.baseAddress! + sent, raw.count - sent, Int32(MSG_NOSIGNAL))
            }
            if n > 0 { sent += n; continue }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK { return .failure(.timedOut) }
            return .failure(.failed(describe("send", errno)))
        }
        return .success(())
    }

    struct Response {
        var status: Int
        var body: [UInt8]
    }

    /// Reads until the head is complete and then as much body as the detail needs: to the peer's close,
    /// to Content-Length, or to `responseLimit`. A deadline reached inside the body keeps the status.
    private func receiveResponse(on fd: Int32, deadline: UInt64) -> Result<Response, Failure> {
        var received: [UInt8] = []
        var headEnd: Int?
        var status = 0
        var contentLength: Int?
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            if let end = headEnd {
                let bodyCount = received.count - end
                if let length = contentLength, bodyCount >= length { break }
                if bodyCount >= Self.bodyInDetail || received.count >= Self.responseLimit { break }
            } else if received.count >= Self.responseLimit {
                return .failure(.failed("invalid response: head larger than \(Self.responseLimit) bytes"))
            }
            guard armTimeout(SO_RCVTIMEO, on: fd, deadline: deadline) else {
                if headEnd != nil { break }
                return .failure(.timedOut)
            }
            let n = buffer.withUnsafeMutableBytes { raw in recv(fd, raw.baseAddress!, raw.count, 0) }
            if n > 0 {
                received += buffer[0..<n]
                if headEnd == nil, let end = Self.findHeadEnd(received) {
                    headEnd = end
                    guard let parsed = Self.parseHead(received[0..<end]) else {
                        return .failure(.failed("invalid response: bad status line"))
                    }
                    (status, contentLength) = parsed
                }
                continue
            }
            if n == 0 {
                if headEnd != nil { break }
                return .failure(.failed(received.isEmpty ? "connection closed before a response" : "invalid response: truncated head"))
            }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK {
                if headEnd != nil { break }
                return .failure(.timedOut)
            }
            if headEnd != nil { break }
            return .failure(.failed(describe("recv", errno)))
        }
        let end = headEnd ?? received.count
        var body = Array(received[end...])
        if let length = contentLength, body.count > length { body.removeLast(body.count - length) }
        return .success(Response(status: status, body: body))
    }

    /// The index just past the blank line ending the head.
    static func findHeadEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for i in 0...(bytes.count - 4) where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 {
            return i + 4
        }
        return nil
    }

    /// The status code of `HTTP/1.x NNN reason`, and Content-Length when present (for the body prefix only).
    static func parseHead(_ head: ArraySlice<UInt8>) -> (status: Int, contentLength: Int?)? {
        let lines = String(decoding: head, as: UTF8.self).split(separator: "\r\n", omittingEmptySubsequences: true)
        guard let statusLine = lines.first, statusLine.hasPrefix("HTTP/1.") else { return nil }
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[1].count == 3, let status = Int(parts[1]), status >= 100 else { return nil }
        var contentLength: Int?
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            if line[..<colon].lowercased() == "content-length" {
                contentLength = Int(String(line[line.index(after: colon)...]).trimmingSpaces())
            }
        }
        return (status, contentLength)
    }

    /// Sets SO_SNDTIMEO or SO_RCVTIMEO to the time left; false when none is left.
    private func armTimeout(_ option: Int32, on fd: Int32, deadline: UInt64) -> Bool {
        let now = HookClock.now()
        guard now < deadline else { return false }
        let left = deadline - now
        // A zero timeval means "no timeout": never arm less than a microsecond.
        var tv = timeval(tv_sec: Int(left / 1_000_000_000), tv_usec: max(1, Int((left % 1_000_000_000) / 1000)))
        if tv.tv_sec > 0 && left % 1_000_000_000 < 1000 { tv.tv_usec = 0 }
        setsockopt(fd, SOL_SOCKET, option, &tv, socklen_t(MemoryLayout<timeval>.size))
        return true
    }

    /// "connection refused", "connect: Network is unreachable": the common case in the words people expect.
    private func describe(_ operation: String, _ error: Int32) -> String {
        switch error {
        case ECONNREFUSED: return "connection refused"
        case ECONNRESET: return "connection reset"
        case ETIMEDOUT: return "connection timed out"
        default: return "\(operation): \(String(cString: strerror(error)))"
        }
    }
}

fileprivate extension StringProtocol {
    /// Without leading and trailing spaces and tabs (no Foundation needed for this).
    func trimmingSpaces() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let start = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[start...last])
    }
}
