// Client TLSSessions driven on their own thread with poll(): per connection connect, handshake, one request, the response until EOF.
import EventLoop
import Foundation
import Glibc
import Synchronization
import TLS

/// What the client saw of one connection: the handshake's error (nil when verified), why the
/// certificate was refused, whether the session was resumed, and the response bytes.
struct ClientOutcome: Sendable {
    var error: String?
    var verificationFailure: String?
    var resumed = false
    var response: [UInt8] = []
}

/// Runs `connections` connections one after the other on a background thread while the test thread
/// plays the server (see TestServer.swift); all share one `TLSResumption`, so the later ones offer the
/// session the earlier ones got. `wait()` returns what each saw. Every wait is bounded by `deadline`.
final class TestClient: Sendable {
    private let result = Mutex<[ClientOutcome]?>(nil)

    init(context: TLSClientContext, port: UInt16, serverName: String, request: [UInt8], connections: Int = 1, seconds: Double = 10) {
        let thread = Thread { [self] in
            let deadline = Deadline(seconds: seconds)
            let resumption = TLSResumption()
            let outcomes = (0..<connections).map { _ in
                Self.run(context: context, port: port, serverName: serverName, request: request, resumption: resumption, deadline: deadline)
            }
            result.withLock { $0 = outcomes }
        }
        thread.start()
    }

    /// Blocks until the client thread is done (or `seconds` passed: then the outcome says so).
    func wait(seconds: Double = 15) -> [ClientOutcome] {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if let outcomes = result.withLock({ $0 }) { return outcomes }
            usleep(5_000)
        }
        return [ClientOutcome(error: "client thread did not finish")]
    }

    private static func run(
        context: TLSClientContext, port: UInt16, serverName: String, request: [UInt8],
        resumption: TLSResumption, deadline: Deadline
    ) -> ClientOutcome {
        var outcome = ClientOutcome()
        let socket: SocketDescriptor
        do {
            (socket, _) = try SocketDescriptor.connect(to: try SocketAddress.resolve(host: "127.0.0.1", port: port))
        } catch {
            outcome.error = "connect: \(error)"
            return outcome
        }
        defer { socket.close() }
        do {
            let session = try TLSSession(client: context, fd: socket.raw, serverName: serverName, resumption: resumption)
            defer {
                outcome.verificationFailure = session.verificationFailure
                outcome.resumed = session.isResumed
            }
            // The connect may still be in progress: the socket BIO's EAGAIN makes the first steps wait.
            handshake: while true {
                switch try session.handshake() {
                case .done: break handshake
                case .wantRead: try waitFor(socket.raw, Int16(POLLIN), until: deadline)
                case .wantWrite: try waitFor(socket.raw, Int16(POLLOUT), until: deadline)
                }
            }
            var offset = 0
            while offset < request.count {
                offset += try step(socket, deadline) {
                    try request.withUnsafeBytes { try session.write(UnsafeRawBufferPointer(rebasing: $0[offset...])) }
                }
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = try step(socket, deadline) { try chunk.withUnsafeMutableBytes { try session.read(into: $0) } }
                if n == 0 { break }
                outcome.response += chunk[..<n]
            }
            session.shutdown()
        } catch {
            outcome.error = "\(error)"
        }
        return outcome
    }

    /// Retries `operation` after waiting for the readiness it asks for; returns its byte count.
    private static func step(_ socket: SocketDescriptor, _ deadline: Deadline, _ operation: () throws -> TLSIO) throws -> Int {
        while true {
            switch try operation() {
            case .bytes(let n): return n
            case .wantRead: try waitFor(socket.raw, Int16(POLLIN), until: deadline)
            case .wantWrite: try waitFor(socket.raw, Int16(POLLOUT), until: deadline)
            }
        }
    }
}
