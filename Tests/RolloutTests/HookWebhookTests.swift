// Webhook hooks against a real HTTP server on 127.0.0.1: payload, status handling, timeouts, retries, refusals.
import Config
import Foundation
import Testing
@testable import Rollout

/// A blocking HTTP/1.1 server on its own threads: records each request and answers with what
/// `respond(n)` gives for the n-th one (0-based), or never answers when it gives nil.
final class TestWebhookServer: @unchecked Sendable {
    struct Request {
        var head: String
        var body: [UInt8]
    }

    let port: UInt16
    private let listener: Int32
    private let respond: @Sendable (Int) -> String?
    private let lock = NSLock()
    private var recorded: [Request] = []
    private var stopped = false

    init(respond: @escaping @Sendable (Int) -> String?) throws {
        self.respond = respond
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sockaddrPointer in
                bind(fd, sockaddrPointer, length) == 0 && listen(fd, 16) == 0
                    && getsockname(fd, sockaddrPointer, &length) == 0
            }
        }
        guard bound else { close(fd); throw POSIXError(.EADDRINUSE) }
        listener = fd
        port = UInt16(bigEndian: address.sin_port)
        Thread { [self] in acceptLoop() }.start()
    }

    deinit { stop() }

    var requests: [Request] { lock.withLock { recorded } }
    var url: String { "http://127.0.0.1:\(port)/hooks/canary?x=1" }

    func stop() {
        let wasStopped = lock.withLock { () -> Bool in
            defer { stopped = true }
            return stopped
        }
        if wasStopped { return }
        // Wakes the blocked accept.
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private var isStopped: Bool { lock.withLock { stopped } }

    private func acceptLoop() {
        while !isStopped {
            let connection = accept(listener, nil, nil)
            if connection < 0 { if errno == EINTR { continue } else { return } }
            Thread { [self] in serve(connection) }.start()
        }
    }

    private func serve(_ connection: Int32) {
        defer { close(connection) }
        guard let request = readRequest(connection) else { return }
        let index = lock.withLock { () -> Int in
            recorded.append(request)
            return recorded.count - 1
        }
        guard let response = respond(index) else {
            // Never answer: hold the connection until the server stops.
            while !isStopped { usleep(20_000) }
            return
        }
        let bytes = Array(response.utf8)
        _ = bytes.withUnsafeBytes { send(connection, $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    private func readRequest(_ connection: Int32) -> Request? {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            if let end = WebhookCall.findHeadEnd(received) {
                let head = String(decoding: received[0..<end], as: UTF8.self)
                let length =
                    head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                    .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
                if received.count - end >= length {
                    return Request(head: head, body: Array(received[end..<(end + length)]))
                }
            }
            let n = buffer.withUnsafeMutableBytes { recv(connection, $0.baseAddress!, $0.count, 0) }
            if n <= 0 { return nil }
            received += buffer[0..<n]
        }
    }

    static func response(_ status: Int, _ body: String = "") -> String {
        "HTTP/1.1 \(status) X\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
    }
}

func webhook(
    _ name: String, url: String, type: HookType = .confirmTrafficIncrease, timeout: Duration = .seconds(5),
    retries: Int = 0, metadata: [String: String] = [:], headers: [WebhookHeader] = [], caFile: String? = nil
) -> HookConfig {
    var hook = HookConfig(name: name, type: type, action: .webhook(url: url, headers: headers, caFile: caFile))
    hook.timeout = timeout
    hook.retries = retries
    hook.metadata = metadata
    return hook
}

@Suite struct HookWebhookTests {
    let runner = HookRunner()

    @Test func postsTheRolloutAsJSONAnd2xxPasses() async throws {
        let server = try TestWebhookServer { _ in TestWebhookServer.response(202) }
        defer { server.stop() }
        let hook = webhook("gate", url: server.url, metadata: ["cmd": "check /v2"])
        let result = await runner.results([hookRequest(hook, route: "web", phase: "Progressing", revision: "v2", weight: 25)])[0]
        #expect(result.passed)
        #expect(result.detail == "HTTP 202")
        #expect(result.attempts == 1)
        #expect(result.type == .confirmTrafficIncrease)

        let request = try #require(server.requests.first)
        #expect(request.head.hasPrefix("POST /hooks/canary?x=1 HTTP/1.1\r\n"))
        let head = request.head.lowercased()
        #expect(head.contains("\r\nhost: 127.0.0.1:\(server.port)\r\n"))
        #expect(head.contains("\r\ncontent-type: application/json\r\n"))
        #expect(head.contains("\r\nconnection: close\r\n"))
        #expect(request.head.contains("\r\nIdempotency-Key: web/v2/1/confirm-traffic-increase/gate\r\n"))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any])
        #expect(json["idempotencyKey"] as? String == "web/v2/1/confirm-traffic-increase/gate")
        #expect(json["name"] as? String == "gate")
        #expect(json["type"] as? String == "confirm-traffic-increase")
        #expect(json["route"] as? String == "web")
        #expect(json["phase"] as? String == "Progressing")
        #expect(json["revision"] as? String == "v2")
        #expect(json["weight"] as? Int == 25)
        #expect(json["metadata"] as? [String: String] == ["cmd": "check /v2"])
    }

    @Test func aServerErrorFailsWithTheStatusAndTheBodysStart() async throws {
        let server = try TestWebhookServer { _ in TestWebhookServer.response(500, "not yet\r\n") }
        defer { server.stop() }
        let result = await runner.results([hookRequest(webhook("gate", url: server.url))])[0]
        #expect(!result.passed)
        #expect(result.detail == "HTTP 500: not yet")
    }

    @Test func a503WithoutBodyFailsWithTheStatus() async throws {
        let server = try TestWebhookServer { _ in TestWebhookServer.response(503) }
        defer { server.stop() }
        let result = await runner.results([hookRequest(webhook("gate", url: server.url))])[0]
        #expect(!result.passed)
        #expect(result.detail == "HTTP 503")
    }

    @Test func aServerThatNeverAnswersTimesOut() async throws {
        let server = try TestWebhookServer { _ in nil }
        defer { server.stop() }
        let clock = ContinuousClock()
        let started = clock.now
        let result = await runner.results([hookRequest(webhook("gate", url: server.url, timeout: .milliseconds(300)))])[0]
        let elapsed = clock.now - started
        #expect(!result.passed)
        #expect(result.detail == "timed out after 0.3s")
        #expect(elapsed >= .milliseconds(290))
        // The server never answers: without the timeout this would hang until the test's time limit.
        #expect(elapsed < .seconds(30), "took \(elapsed)")
    }

    @Test func retriesUntilTheServerAnswers2xx() async throws {
        let server = try TestWebhookServer { index in
            index < 2 ? TestWebhookServer.response(503) : TestWebhookServer.response(200)
        }
        defer { server.stop() }
        let result = await runner.results([hookRequest(webhook("gate", url: server.url, retries: 3))])[0]
        #expect(result.passed)
        #expect(result.attempts == 3)
        #expect(result.detail == "HTTP 200")
        #expect(server.requests.count == 3)
        #expect(result.durationNanoseconds >= 200_000_000, "two 100 ms backoffs")
    }

    @Test func aRefusedConnectionFails() async throws {
        // A port that was just free: bind, read it, close.
        let server = try TestWebhookServer { _ in nil }
        let port = server.port
        server.stop()
        let result = await runner.results([hookRequest(webhook("gate", url: "http://127.0.0.1:\(port)/", retries: 1))])[0]
        #expect(!result.passed)
        #expect(result.detail == "connection refused")
        #expect(result.attempts == 2)
    }

    /// A hook built without the config's checks: a bad URL fails at once, and the detail never repeats it.
    @Test func malformedURLsFailAtOnceWithoutRetriesOrShowingTheURL() async {
        let results = await runner.results([
            hookRequest(webhook("scheme", url: "ftp://example.com/s3cr3t", retries: 3)),
            hookRequest(webhook("port", url: "http://127.0.0.1:99999/s3cr3t", retries: 3)),
            hookRequest(webhook("credentials", url: "https://alice:s3cr3t@127.0.0.1:1/", retries: 3)),
        ])
        #expect(results.map(\.passed) == [false, false, false])
        #expect(results.map(\.attempts) == [1, 1, 1])
        #expect(results[0].detail == #"invalid webhook URL: it must start with "http://" or "https://""#)
        #expect(results[1].detail == "invalid webhook URL: it has an invalid port: not in 1...65535")
        #expect(results[2].detail.hasPrefix("invalid webhook URL: it must not carry credentials"))
        for result in results { #expect(!result.detail.contains("s3cr3t"), "\(result.detail)") }
    }

    /// Credentials in an http URL used to be dropped without a word, and the call made without them.
    @Test func credentialsInTheURLAreNotDroppedSilently() async throws {
        let server = try TestWebhookServer { _ in TestWebhookServer.response(200) }
        defer { server.stop() }
        let result = await runner.results([hookRequest(webhook("gate", url: "http://alice:s3cr3t@127.0.0.1:\(server.port)/"))])[0]
        #expect(!result.passed)
        #expect(!result.detail.contains("s3cr3t"))
        #expect(server.requests.isEmpty)
    }

    @Test func redirectsAreNotFollowed() async throws {
        let server = try TestWebhookServer { _ in
            "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:1/elsewhere\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        }
        defer { server.stop() }
        let result = await runner.results([hookRequest(webhook("gate", url: server.url))])[0]
        #expect(!result.passed)
        #expect(result.detail == "HTTP 307: redirects are not followed")
        #expect(server.requests.count == 1)
    }

    /// The configured headers are sent; a response that repeats a secret one (an echoing error page)
    /// has it replaced in the detail, which the event log, /status and the state file show.
    @Test func headersAreSentAndAnEchoedSecretIsRedacted() async throws {
        let secret = "Bearer s3cret-token-42"
        let server = try TestWebhookServer { _ in TestWebhookServer.response(401, "bad token \(secret); try again") }
        defer { server.stop() }
        let headers = [
            WebhookHeader(name: "Authorization", value: secret, file: "/etc/canarygate/hook-token"),
            WebhookHeader(name: "X-Team", value: "payments"),
        ]
        let result = await runner.results([hookRequest(webhook("gate", url: server.url, headers: headers))])[0]
        #expect(!result.passed)
        #expect(result.detail == "HTTP 401: bad token [redacted]; try again")
        #expect(!String(describing: result).contains("s3cret"))
        let head = try #require(server.requests.first).head
        #expect(head.contains("\r\nAuthorization: \(secret)\r\n"))
        #expect(head.contains("\r\nX-Team: payments\r\n"))
    }

    /// A body read only in part may stop inside a secret: its start is not shown either.
    @Test func aSecretCutShortIsRedactedToo() {
        let secret = "Bearer s3cret-token-42"
        #expect(WebhookCall.withoutSecrets("denied: Bearer s3cr", [secret], complete: false) == "denied: [redacted]")
        #expect(WebhookCall.withoutSecrets("denied: Bearer s3cr", [secret], complete: true) == "denied: Bearer s3cr")
        #expect(WebhookCall.withoutSecrets("a \(secret) b \(secret)", [secret], complete: true) == "a [redacted] b [redacted]")
        let long = String(repeating: "x", count: 190) + secret
        #expect(WebhookCall.withoutSecrets(long, [secret], complete: true) == String(repeating: "x", count: 190) + "[redacted]")
    }

    /// Headers that bypassed the config's checks cannot inject lines into the request.
    @Test func anInvalidHeaderFailsWithoutSending() async throws {
        let server = try TestWebhookServer { _ in TestWebhookServer.response(200) }
        defer { server.stop() }
        let headers = [WebhookHeader(name: "X-A", value: "a\r\nX-Injected: 1")]
        let result = await runner.results([hookRequest(webhook("gate", url: server.url, retries: 2, headers: headers))])[0]
        #expect(!result.passed)
        #expect(result.attempts == 1)
        #expect(result.detail == #"header "X-A": value may hold only visible ASCII characters and spaces on one line"#)
        #expect(server.requests.isEmpty)
    }

    @Test func anAnswerThatIsNotHTTPFails() async throws {
        let server = try TestWebhookServer { _ in "SSH-2.0-OpenSSH\r\n\r\n" }
        defer { server.stop() }
        let result = await runner.results([hookRequest(webhook("gate", url: server.url))])[0]
        #expect(!result.passed)
        #expect(result.detail == "invalid response: bad status line")
    }

    @Test func urlsAreSplitIntoHostPortAndTarget() throws {
        #expect(
            try WebhookURL.parse("http://hooks.local/x").get()
                == WebhookURL(scheme: .http, host: "hooks.local", port: 80, target: "/x", authority: "hooks.local"))
        #expect(
            try WebhookURL.parse("HTTP://10.0.0.1:8080").get()
                == WebhookURL(scheme: .http, host: "10.0.0.1", port: 8080, target: "/", authority: "10.0.0.1:8080"))
        #expect(
            try WebhookURL.parse("http://[::1]:9000/a?b=c#frag").get()
                == WebhookURL(scheme: .http, host: "::1", port: 9000, target: "/a?b=c", authority: "[::1]:9000"))
        #expect(
            try WebhookURL.parse("https://h?q").get() == WebhookURL(scheme: .https, host: "h", port: 443, target: "/?q", authority: "h"))
        #expect(
            try WebhookURL.parse("HTTPS://h:8443/p").get()
                == WebhookURL(scheme: .https, host: "h", port: 8443, target: "/p", authority: "h:8443"))
        #expect(throws: WebhookURLError.self) { try WebhookURL.parse("http://user:pw@h:81?q").get() }
        #expect(throws: WebhookURLError.self) { try WebhookURL.parse("http://").get() }
        #expect(throws: WebhookURLError.self) { try WebhookURL.parse("http://h:0/").get() }
        #expect(throws: WebhookURLError.self) { try WebhookURL.parse("ftp://h/").get() }
    }

    @Test func statusLinesAreParsed() {
        #expect(WebhookCall.parseHead(ArraySlice("HTTP/1.1 204 No Content\r\n\r\n".utf8))?.status == 204)
        #expect(WebhookCall.parseHead(ArraySlice("HTTP/1.0 404\r\nContent-Length: 3\r\n\r\n".utf8))?.contentLength == 3)
        #expect(WebhookCall.parseHead(ArraySlice("HTTP/2 200\r\n\r\n".utf8)) == nil)
        #expect(WebhookCall.parseHead(ArraySlice("HTTP/1.1 2000 X\r\n\r\n".utf8)) == nil)
    }
}
