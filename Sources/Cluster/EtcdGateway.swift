// The way to etcd: its endpoints, the TLS context for https ones, and one HTTP/1.1 connection to the gateway.
import Config
import Rollout
import TLS

/// Why the JSON gateway over HTTP/1.1 and not gRPC: no protobuf codec to write and keep, every request
/// can be replayed with curl, and etcd 3.4 serves it on the same client port. Its cost: base64 and JSON
/// bytes on the wire (a few hundred bytes per request on the control path), and one TCP connection per
/// concurrent stream, since HTTP/1.1 does not multiplex (each watch holds its own).
///
/// Sendable: it holds only the endpoints and the (thread-safe) TLS context. The unary client and
/// every watch connect through the same value.
struct EtcdGateway: Sendable {
    let endpoints: [EtcdEndpoint]
    /// Made once for the https endpoints; when the files cannot be loaded, every connect answers the reason.
    private let tls: Result<TLSClientContext?, EtcdError>
    /// Whether this client presents a certificate: a refusal by etcd then reads differently.
    private let presentsCertificate: Bool

    init(endpoints: [EtcdEndpoint], tls: ClusterTLSConfig?) {
        precondition(!endpoints.isEmpty, "an etcd client needs at least one endpoint")
        self.endpoints = endpoints
        presentsCertificate = tls?.certFile != nil
        guard endpoints.contains(where: \.secure) else {
            self.tls = .success(nil)
            return
        }
        do {
            self.tls = .success(try TLSClientContext(caFile: tls?.caFile, certFile: tls?.certFile, keyFile: tls?.keyFile))
        } catch {
            self.tls = .failure(.unreachable("TLS towards etcd: \(error.message)"))
        }
    }

    /// Connects to the first endpoint that accepts, trying them in order from `first` (the one that
    /// worked last) and wrapping around. Each gets an equal share of the time left, so one that never
    /// answers a SYN cannot use up the deadline of the others.
    func connect(from first: Int, deadline: UInt64) -> Result<(connection: GatewayConnection, index: Int), EtcdError> {
        let context: TLSClientContext?
        switch tls {
        case .success(let loaded): context = loaded
        case .failure(let error): return .failure(error)
        }
        var reasons: [String] = []
        for step in 0..<endpoints.count {
            let index = (first + step) % endpoints.count
            let endpoint = endpoints[index]
            let now = HookClock.now()
            if now >= deadline {
                reasons.append("\(endpoint): not tried, the request's time ran out")
                continue
            }
            let share = now + (deadline - now) / UInt64(endpoints.count - step)
            let opened = DeadlineConnection.open(
                host: endpoint.host, port: endpoint.port, tls: endpoint.secure ? context : nil, deadline: share)
            switch opened {
            case .success(let socket):
                let connection = GatewayConnection(endpoint: endpoint, socket: socket, presentsCertificate: presentsCertificate)
                return .success((connection, index))
            case .failure(.timedOut): reasons.append("\(endpoint): no connection in time")
            case .failure(.failed(let why)), .failure(.unusable(let why)): reasons.append("\(endpoint): \(why)")
            }
        }
        return .failure(.unreachable(reasons.joined(separator: "; ")))
    }
}

/// One keep-alive HTTP/1.1 connection to an endpoint's gateway, used by one thread at a time (its
/// `interrupter` by any).
final class GatewayConnection {
    let endpoint: EtcdEndpoint
    private let socket: DeadlineConnection
    /// Responses completed on it: a reused connection that breaks before any answer was most likely
    /// closed by etcd while idle, which is worth one more try on a new one.
    private(set) var completedExchanges = 0
    private var buffer = [UInt8](repeating: 0, count: 16 * 1024)
    private let presentsCertificate: Bool

    init(endpoint: EtcdEndpoint, socket: DeadlineConnection, presentsCertificate: Bool) {
        self.endpoint = endpoint
        self.socket = socket
        self.presentsCertificate = presentsCertificate
    }

    /// A complete answer to a unary request.
    struct Response {
        var status: Int
        var body: [UInt8]
        var keepAlive: Bool
    }

    /// Why `exchange` failed, and whether the request may be sent again on a new connection.
    struct Failure: Error {
        var error: EtcdError
        /// This reused connection broke before a single byte of the answer: the request was most
        /// likely never read. Never true for a timeout (the request may be running).
        var retryable: Bool
    }

    /// Sends a POST of `body` to `path` and reads the whole response, at most `maxBodyBytes` of body.
    func exchange(path: String, body: [UInt8], traffic: EtcdTraffic, maxBodyBytes: Int, deadline: UInt64) -> Result<Response, Failure> {
        let reused = completedExchanges > 0
        if case .failure(let error) = send(path: path, body: body, traffic: traffic, deadline: deadline) {
            return .failure(Failure(error: error, retryable: reused && !error.isTimeout))
        }
        var reader = GatewayResponseReader()
        var answer: [UInt8] = []
        while true {
            let step: Result<Int, EtcdError> = buffer.withUnsafeMutableBytes { receive(into: $0, traffic: traffic, deadline: deadline) }
            do throws(EtcdError) {
                switch step {
                case .failure(let error): throw error
                case .success(0): try reader.finishAtClose()
                case .success(let count):
                    let progress = try buffer.withBytes { bytes throws(EtcdError) in
                        try reader.feed(UnsafeRawBufferPointer(rebasing: bytes[0..<count])) { answer += $0 }
                    }
                    if answer.count > maxBodyBytes { throw .malformed("a response larger than \(maxBodyBytes) bytes") }
                    if progress == .needMore { continue }
                }
            } catch {
                return .failure(Failure(error: error, retryable: reused && !reader.receivedAny && !error.isTimeout))
            }
            completedExchanges += 1
            return .success(Response(status: reader.status ?? 0, body: answer, keepAlive: reader.keepAlive))
        }
    }

    /// Sends the request head and `body`.
    func send(path: String, body: [UInt8], traffic: EtcdTraffic, deadline: UInt64) -> Result<Void, EtcdError> {
        let head =
            "POST \(path) HTTP/1.1\r\nHost: \(endpoint.authority)\r\nUser-Agent: canarygate\r\n"
            + "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n"
        let request = Array(head.utf8) + body
        switch socket.send(request, deadline: deadline) {
        case .success:
            traffic.countSent(request.count)
            return .success(())
        case .failure(let failure): return .failure(error(failure))
        }
    }

    /// Receives some bytes; 0 is the end of the stream.
    func receive(into buffer: UnsafeMutableRawBufferPointer, traffic: EtcdTraffic, deadline: UInt64) -> Result<Int, EtcdError> {
        switch socket.receive(into: buffer, deadline: deadline) {
        case .success(let count):
            traffic.countReceived(count)
            return .success(count)
        case .failure(let failure): return .failure(error(failure))
        }
    }

    /// Wakes a thread blocked in `send` or `receive` on this connection, from any thread.
    var interrupter: DeadlineConnection.Interrupter { socket.interrupter }

    private func error(_ failure: DeadlineConnection.Failure) -> EtcdError {
        switch failure {
        case .timedOut: return .timedOut("\(endpoint) did not answer in time")
        case .failed(let why), .unusable(let why):
            // With TLS 1.3 the server checks the client's certificate after the client's handshake is
            // done, so its refusal arrives as an alert on the first read: say what it means.
            guard why.contains("alert bad certificate") || why.contains("alert certificate required") else {
                return .unreachable("\(endpoint): \(why)")
            }
            let hint =
                presentsCertificate
                ? "etcd refused this client's certificate" : "etcd requires a client certificate (tls.certFile, tls.keyFile)"
            return .unreachable("\(endpoint): \(hint): \(why)")
        }
    }
}

extension EtcdError {
    var isTimeout: Bool {
        if case .timedOut = self { return true }
        return false
    }
}

extension EtcdEndpoint {
    /// `host:port` as the Host header wants it (IPv6 in brackets).
    var authority: String { "\(host.contains(":") ? "[\(host)]" : host):\(port)" }
}
