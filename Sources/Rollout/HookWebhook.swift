// A webhook hook: one HTTP/1.1 POST (over TLS for https) with a deadline; 2xx passes.
import Config
import TLS

/// A small client rather than the data plane's: it runs on a hook thread, talks to one webhook once per
/// attempt (`Connection: close`), and must never outlive its deadline, which bounds every step (see
/// `DeadlineConnection`, which also does the TLS of https URLs). Redirects are not followed: a 3xx
/// fails like any other non-2xx status, since following one would send the payload and the headers
/// (credentials included) to a place the config does not name.
struct WebhookCall {
    let request: HookRequest
    let url: String
    let headers: [WebhookHeader]
    let caFile: String?

    /// The most of the response kept: the head, and a body prefix for the failure detail.
    static let responseLimit = 16 * 1024
    /// How much of a failing response's body goes into the detail.
    static let bodyInDetail = 200
    /// What replaces a secret header value that a response repeats (an echoing error page, say).
    static let redacted = "[redacted]"

    func perform(deadline: UInt64) -> HookAttempt {
        let target: WebhookURL
        switch WebhookURL.parse(url) {
        case .success(let parsed): target = parsed
        // Without the URL: it is not shown anywhere (see `WebhookURL`).
        case .failure(let error): return .fail("invalid webhook URL: it \(error.message)", retryable: false)
        }
        for header in headers {
            // The config refuses these; a hook built some other way must not inject lines into the request.
            if let problem = WebhookHeader.problem(withName: header.name)
                ?? WebhookHeader.problem(withValue: header.value).map({ "value \($0)" })
            {
                return .fail("header \(header.name.debugDescription): \(problem)", retryable: false)
            }
        }
        let timeoutText = "timed out after \(HookClock.describe(request.hook.timeout))"
        func failure(_ failure: DeadlineConnection.Failure) -> HookAttempt {
            switch failure {
            case .timedOut: .fail(timeoutText)
            case .failed(let message): .fail(message)
            case .unusable(let message): .fail(message, retryable: false)
            }
        }

        // Loaded per call rather than cached: hooks are rare, and a renewed CA file is used at once.
        var context: TLSClientContext?
        if target.scheme == .https {
            do { context = try TLSClientContext(caFile: caFile) } catch { return .fail(error.message, retryable: false) }
        }
        let connection: DeadlineConnection
        switch DeadlineConnection.open(host: target.host, port: target.port, tls: context, deadline: deadline) {
        case .success(let opened): connection = opened
        case .failure(let reason): return failure(reason)
        }

        let body = WebhookPayload(request).json()
        var head =
            "POST \(target.target) HTTP/1.1\r\n"
            + "Host: \(target.authority)\r\n"
            + "User-Agent: canarygate\r\n"
            + "Content-Type: application/json\r\n"
            + "Accept: */*\r\n"
            + "Idempotency-Key: \(request.idempotencyKey)\r\n"
        for header in headers { head += "\(header.name): \(header.value)\r\n" }
        head +=
            "Content-Length: \(body.count)\r\n"
            + "Connection: close\r\n\r\n"
        if case .failure(let reason) = connection.send(Array(head.utf8) + body, deadline: deadline) { return failure(reason) }

        switch receiveResponse(on: connection, deadline: deadline) {
        case .success(let response): return judge(response)
        case .failure(let reason): return failure(reason)
        }
    }

    // MARK: - Verdict

    /// 2xx passes; anything else fails with the status and the start of the body, secrets removed.
    private func judge(_ response: Response) -> HookAttempt {
        let detail = "HTTP \(response.status)"
        if (200...299).contains(response.status) { return .pass(detail) }
        if (300...399).contains(response.status) { return .fail("\(detail): redirects are not followed") }
        let body = String(decoding: response.body, as: UTF8.self)
        let text = Self.withoutSecrets(body, headers.filter(\.isSecret).map(\.value), complete: response.isComplete)
            .split(whereSeparator: \.isNewline).joined(separator: " ")
            .trimmingSpaces()
        return .fail(text.isEmpty ? detail : "\(detail): \(text)")
    }

    /// `text` with every secret replaced, then cut to `bodyInDetail` characters. When the body was not
    /// read to its end, it may stop inside a secret: an end that starts one is replaced too.
    static func withoutSecrets(_ text: String, _ secrets: [String], complete: Bool) -> String {
        var text = text
        for secret in secrets where !secret.isEmpty { text = text.replacing(secret, with: redacted) }
        if complete { return String(text.prefix(bodyInDetail)) }
        for secret in secrets where !secret.isEmpty {
            if let start = (1..<secret.count).reversed().first(where: { text.hasSuffix(secret.prefix($0)) }) {
                text = String(text.dropLast(start)) + redacted
            }
        }
        return String(text.prefix(bodyInDetail))
    }

    // MARK: - Response

    struct Response {
        var status: Int
        /// At most what `receiveResponse` read of it.
        var body: [UInt8]
        /// The body was read to its end (Content-Length or the peer's close), not cut short.
        var isComplete: Bool
    }

    /// Reads until the head is complete and then as much body as the detail needs: to the peer's close,
    /// to Content-Length, or to `responseLimit`. A deadline reached inside the body keeps the status.
    private func receiveResponse(on connection: DeadlineConnection, deadline: UInt64) -> Result<Response, DeadlineConnection.Failure> {
        var received: [UInt8] = []
        var headEnd: Int?
        var status = 0
        var contentLength: Int?
        var isComplete = false
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            if let end = headEnd {
                let bodyCount = received.count - end
                if let length = contentLength, bodyCount >= length { isComplete = true; break }
                if bodyCount >= Self.bodyInDetail || received.count >= Self.responseLimit { break }
            } else if received.count >= Self.responseLimit {
                return .failure(.failed("invalid response: head larger than \(Self.responseLimit) bytes"))
            }
            let step = buffer.withUnsafeMutableBytes { connection.receive(into: $0, deadline: deadline) }
            switch step {
            case .success(let n) where n > 0:
                received += buffer[0..<n]
                if headEnd == nil, let end = Self.findHeadEnd(received) {
                    headEnd = end
                    guard let parsed = Self.parseHead(received[0..<end]) else {
                        return .failure(.failed("invalid response: bad status line"))
                    }
                    (status, contentLength) = parsed
                }
                continue
            case .success:
                if headEnd == nil {
                    return .failure(.failed(received.isEmpty ? "connection closed before a response" : "invalid response: truncated head"))
                }
                isComplete = true
            case .failure(let failure):
                if headEnd == nil { return .failure(failure) }
            }
            break
        }
        let end = headEnd ?? received.count
        var body = Array(received[end...])
        if let length = contentLength, body.count > length { body.removeLast(body.count - length) }
        return .success(Response(status: status, body: body, isComplete: isComplete))
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
}

fileprivate extension StringProtocol {
    /// Without leading and trailing spaces and tabs (no Foundation needed for this).
    func trimmingSpaces() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let start = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[start...last])
    }
}
