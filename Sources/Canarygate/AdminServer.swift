// The admin listener (loopback by default): /healthz and /status, served by its own thread, never by a data-plane loop.
import CLinuxShims
import Config
import EventLoop
import Glibc
import Logging
import Proxy
import Rollout
import Synchronization
import Telemetry

/// Admin verbs change the proxy, so the listener should stay on loopback (the default).
final class AdminServer: Sendable {
    private let listener: SocketDescriptor
    private let stopping = Atomic<Bool>(false)
    private let thread: Mutex<LoopThread?> = Mutex(nil)

    static func bind(address: HostPort) throws -> AdminServer {
        let resolved = try SocketAddress.resolve(host: address.host, port: address.port)
        do { return AdminServer(listener: try SocketDescriptor.listen(on: resolved, backlog: 64)) } catch {
            throw StartupError(description: "admin listener \(address): \(error)")
        }
    }

    private init(listener: SocketDescriptor) { self.listener = listener }

    func start(server: Server) {
        let t = LoopThread.spawn { self.serve(server: server) }
        thread.withLock { $0 = t }
    }

    func stop() {
        stopping.store(true, ordering: .releasing)
        let t = thread.withLock { $0 }
        t?.join()
        listener.close()
    }

    /// One request per connection, one connection at a time: the admin API is for people and scrapers, not load.
    private func serve(server: Server) {
        acceptEach(listener, pollMilliseconds: 200, isStopping: { stopping.load(ordering: .acquiring) }) { client in
            handle(client, server: server)
            client.close()
        }
    }

    private func handle(_ client: SocketDescriptor, server: Server) {
        guard let (method, target) = readRequestLine(client) else {
            send(client, status: "400 Bad Request", type: "text/plain", body: "bad request\n")
            return
        }
        var path = target, query = ""
        if let q = target.firstIndex(of: "?") {
            path = String(target[..<q])
            query = String(target[target.index(after: q)...])
        }
        if path.hasPrefix("/routes/") {
            handleRolloutVerb(client, server: server, method: method, path: path, query: query)
            return
        }
        switch (method, path) {
        case ("GET", "/healthz"):
            send(client, status: "200 OK", type: "text/plain", body: "ok\n")
        case ("GET", "/metrics"):
            send(client, status: "200 OK", type: PrometheusWriter.contentType, body: MetricsDocument.render(server))
        case ("GET", "/status"):
            send(client, status: "200 OK", type: "application/json", body: StatusDocument.render(server) + "\n")
        case ("POST", "/reload"):
            switch server.reload() {
            case .success(let generation):
                send(client, status: "200 OK", type: "text/plain", body: "reloaded: generation \(generation)\n")
            case .failure(let error):
                send(client, status: "422 Unprocessable Content", type: "text/plain", body: "reload refused, the running config is kept:\n\(error.message)\n")
            }
        case (_, "/healthz"), (_, "/status"), (_, "/reload"), (_, "/metrics"):
            send(client, status: "405 Method Not Allowed", type: "text/plain", body: "method not allowed\n")
        default:
            send(client, status: "404 Not Found", type: "text/plain", body: "not found\n")
        }
    }

    /// `POST /routes/NAME/{promote,abort,pause,resume,retry}` (`?force=true` for promote).
    private func handleRolloutVerb(_ client: SocketDescriptor, server: Server, method: String, path: String, query: String) {
        let parts = path.split(separator: "/")
        guard parts.count == 3 else {
            send(client, status: "404 Not Found", type: "text/plain", body: "not found\n")
            return
        }
        guard method == "POST" else {
            send(client, status: "405 Method Not Allowed", type: "text/plain", body: "method not allowed\n")
            return
        }
        let route = String(parts[1])
        let verb: ManualVerb
        switch parts[2] {
        case "promote": verb = .promote(force: query.split(separator: "&").contains("force=true"))
        case "abort": verb = .abort
        case "pause": verb = .pause
        case "resume": verb = .resume
        case "retry": verb = .retry
        default:
            send(client, status: "404 Not Found", type: "text/plain", body: "unknown verb \(parts[2]); use promote, abort, pause, resume or retry\n")
            return
        }
        if let reason = server.rolloutCommand(route: route, verb: verb) {
            send(client, status: "409 Conflict", type: "text/plain", body: reason + "\n")
        } else {
            send(client, status: "200 OK", type: "text/plain", body: "\(parts[2]) \(route): accepted\n")
        }
    }

    /// Reads the head and any `Content-Length` body (16 KiB and 64 KiB, 2 s in all) and returns the
    /// method and path. The API uses no body, but one left unread would make the close a reset that
    /// can destroy the response before the client reads it.
    private func readRequestLine(_ client: SocketDescriptor) -> (String, String)? {
        makeBlocking(client, receiveTimeoutSeconds: 2, sendTimeoutSeconds: 2)
        let deadline = MonotonicClock.nowNanoseconds() + 2_000_000_000
        guard let (received, end) = readHead(client, limit: 16 * 1024, deadline: deadline),
              let lineEnd = received.firstIndex(of: 13) else { return nil }
        let head = String(decoding: received[0..<end], as: UTF8.self).lowercased()
        if head.contains("\r\ntransfer-encoding:") { return nil }
        if let field = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }) {
            guard let length = Int(field.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)),
                  length >= 0, length <= 64 * 1024,
                  readExactly(client, count: end + length - received.count, deadline: deadline) else { return nil }
        }
        let parts = received[0..<lineEnd].split(separator: UInt8(ascii: " "))
        guard parts.count == 3 else { return nil }
        return (String(decoding: parts[0], as: UTF8.self), String(decoding: parts[1], as: UTF8.self))
    }

    private func send(_ client: SocketDescriptor, status: String, type: String, body: String) {
        let response = "HTTP/1.1 \(status)\r\nContent-Type: \(type)\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
        _ = writeAll(client, Array(response.utf8))
    }
}
