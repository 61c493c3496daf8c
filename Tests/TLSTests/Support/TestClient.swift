// A client TLSSession driven on its own thread with poll(): connect, handshake, one request, the response until EOF.
import EventLoop
import Foundation
import Glibc
import Synchronization
import TLS

/// What the client saw: the handshake's error (nil when verified), why the certificate was refused,
/// and the response bytes.
struct ClientOutcome: Sendable {
    var error: String?
    var verificationFailure: String?
    var response: [UInt8] = []
}

/// Runs on a background thread while the test thread plays the server (see TestServer.swift);
/// `wait()` returns what it saw. Every wait is bounded by `deadline`.
final class TestClient: Sendable {
    private let result = Mutex<ClientOutcome?>(nil)

    init(context: TLSClientContext, port: UInt16, serverName: String, request: [UInt8], seconds: Double = 10) {
        let thread = Thread { [self] in
            let outcome = Self.run(context: context, port: port, serverName: serverName, request: request, deadline: Deadline(seconds: seconds))
            result.withLock { $0 = outcome }
        }
        thread.start()
    }

    /// Blocks until the client thread is done (or `seconds` passed: then the outcome says so).
    func wait(seconds: Double = 15) -> ClientOutcome {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if let outcome = result.withLock({ $0 }) { return outcome }
            usleep(5_000)
        }
        return ClientOutcome(error: "client thread did not finish")
    }

    private static func run(context: TLSClientContext, port: UInt16, serverName: String, request: [UInt8], deadline: Deadline) -> ClientOutcome {
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
            let session = try TLSSession(client: context, fd: socket.raw, serverName: serverName)
            defer { outcome.verificationFailure = session.verificationFailure }
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
