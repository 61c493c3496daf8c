// The admin listener (loopback by default): /healthz, /status, /metrics and the verbs, on its own thread and loop.
import CLinuxShims
import Config
import EventLoop
import Glibc
import Logging
import Proxy
import Rollout
import Synchronization
import Telemetry

/// Admin verbs change the proxy: beyond loopback, the config must set an operator token (see AdminAccess).
final class AdminServer: Sendable {
    private let listener: SocketDescriptor
    private let stopping = Atomic<Bool>(false)
    private let thread: Mutex<LoopThread?> = Mutex(nil)
    /// Signs the admin page's login cookies; new each start, so a restart logs every browser out.
    private let sessions = AdminSessionKey.random()
    let eventStreams = EventStreamCounters()

    static func bind(address: HostPort) throws -> AdminServer {
        let resolved = try SocketAddress.resolve(host: address.host, port: address.port)
        do { return AdminServer(listener: try SocketDescriptor.listen(on: resolved, backlog: 64)) } catch {
            throw StartupError(description: "admin listener \(address): \(error)")
        }
    }

    private init(listener: SocketDescriptor) { self.listener = listener }

    func start(server: Server) {
        let t = LoopThread.spawn {
            let loop: AdminLoop
            do {
                loop = try AdminLoop(listener: self.listener, feed: AdminEventFeed(server: server), streamCounters: self.eventStreams) {
                    request, connection in
                    self.respond(to: request, on: connection, server: server)
                }
            } catch {
                Logger(label: "canarygate").critical("the admin API cannot start its loop: \(error)")
                return
            }
            loop.run { self.stopping.load(ordering: .acquiring) }
        }
        thread.withLock { $0 = t }
    }

    func stop() {
        stopping.store(true, ordering: .releasing)
        let t = thread.withLock { $0 }
        t?.join()
        listener.close()
    }

    /// The access rules first (the tokens of the config in force: a reload re-reads their files), then the route.
    private func respond(to request: AdminRequest, on connection: AdminConnection, server: Server) -> AdminResponse {
        let admin = server.state.snapshot.config.admin
        let now = Int(ServerState.unixTime())
        let access = AdminAccess.verdict(
            for: request,
            .init(
                admin: admin, localAddress: connection.localAddress, localIsLoopback: connection.localIsLoopback, sessions: sessions,
                now: now))
        if let refusal = access.refusal { return refusal }
        let (method, path) = (request.method, request.path)
        if path.hasPrefix("/routes/") {
            return rolloutVerb(server: server, method: method, path: path, query: request.query)
        }
        switch (method, path) {
        case ("GET", "/healthz"):
            return AdminResponse(status: "200 OK", body: "ok\n")
        case ("GET", "/metrics"):
            return AdminResponse(status: "200 OK", contentType: PrometheusWriter.contentType, body: MetricsDocument.render(server))
        case ("GET", "/status"):
            return AdminResponse(status: "200 OK", contentType: "application/json", body: StatusDocument.render(server) + "\n")
        case (_, "/timeline"): return TimelineDocument.response(method: method, query: request.query, server: server)
        case ("GET", "/"): return AdminPage.response(server: server, role: access.role, admin: admin)
        case ("GET", "/events"): return .eventStream(EventStreamCredential(admin: admin, sessionExpires: access.sessionExpires))
        case (_, "/login"): return AdminLogin.respond(request, admin: admin, sessions: sessions, now: now)
        case ("POST", "/logout"): return AdminLogin.logout()
        case ("POST", "/reload"):
            switch server.reload() {
            case .success(let generation):
                return AdminResponse(status: "200 OK", body: "reloaded: generation \(generation)\n")
            case .failure(let error):
                return AdminResponse(
                    status: "422 Unprocessable Content", body: "reload refused, the running config is kept:\n\(error.message)\n")
            }
        case (_, "/healthz"), (_, "/status"), (_, "/reload"), (_, "/metrics"), (_, "/"), (_, "/events"), (_, "/logout"):
            return AdminResponse(status: "405 Method Not Allowed", body: "method not allowed\n")
        default:
            return AdminResponse(status: "404 Not Found", body: "not found\n")
        }
    }

    /// `POST /routes/NAME/{promote,abort,pause,resume,retry,undo}` (`?force=true` for promote).
    private func rolloutVerb(server: Server, method: String, path: String, query: String) -> AdminResponse {
        let parts = path.split(separator: "/")
        guard parts.count == 3 else { return AdminResponse(status: "404 Not Found", body: "not found\n") }
        guard method == "POST" else { return AdminResponse(status: "405 Method Not Allowed", body: "method not allowed\n") }
        let route = String(parts[1])
        let verb: ManualVerb
        switch parts[2] {
        case "promote": verb = .promote(force: query.split(separator: "&").contains("force=true"))
        case "abort": verb = .abort
        case "pause": verb = .pause
        case "resume": verb = .resume
        case "retry": verb = .retry
        case "undo": verb = .undo
        default:
            return AdminResponse(
                status: "404 Not Found", body: "unknown verb \(parts[2]); use promote, abort, pause, resume, retry or undo\n")
        }
        switch server.rolloutCommand(route: route, verb: verb) {
        case .applied: return AdminResponse(status: "200 OK", body: "\(parts[2]) \(route): accepted\n")
        case .refused(let reason): return AdminResponse(status: "409 Conflict", body: reason + "\n")
        case .unavailable(let reason): return AdminResponse(status: "503 Service Unavailable", body: reason + "\n")
        }
    }
}
