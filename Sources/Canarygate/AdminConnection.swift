// One admin API connection on the admin loop: read a request, answer it, close; a deadline for each half.
import Config
import EventLoop
import Glibc

final class AdminConnection: Pollable {
    enum State {
        case reading(AdminRequestReader)
        case writing([UInt8], sent: Int)
    }

    let socket: SocketDescriptor
    /// Where the client reached this API ("127.0.0.1:9901", "[::1]:9901"): a name it may use in `Host`.
    let localAddress: String
    let localIsLoopback: Bool
    private(set) var state = State.reading(AdminRequestReader())
    private unowned let loop: AdminLoop

    init(socket: SocketDescriptor, loop: AdminLoop) {
        self.socket = socket
        self.loop = loop
        let local = try? socket.localAddress()
        var text = [UInt8](repeating: 0, count: 64)
        let count = local.map { address in text.withUnsafeMutableBytes { address.writeNumericHost(into: $0) } } ?? 0
        let name = HostPort(host: String(decoding: text[0..<count], as: UTF8.self), port: local?.port ?? 0)
        localAddress = name.description
        localIsLoopback = name.isLoopback
    }

    var isReading: Bool {
        if case .reading = state { return true }
        return false
    }

    override func handleEvent(_ events: UInt32) {
        switch state {
        case .reading(var reader):
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                let result = try? chunk.withUnsafeMutableBytes { try socket.read(into: $0) }
                guard case .value(let count)? = result else {
                    if case .wouldBlock? = result { state = .reading(reader) } else { loop.close(self) }
                    return
                }
                // The client went away before its request was complete: nobody to answer.
                guard count > 0 else { return loop.close(self) }
                switch reader.receive(chunk[0..<count]) {
                case .needMore: continue
                case .complete(let request): return answer(loop.respond(request, self))
                case .invalid(let reason): return answer(AdminResponse(status: "400 Bad Request", body: "bad request: \(reason)\n"))
                }
            }
        case .writing:
            flush()
        }
    }

    /// The request did not arrive in time (408, sent if the socket takes it at once), or the answer was not taken.
    override func handleDeadline() {
        if isReading {
            let late = AdminResponse(status: "408 Request Timeout", body: "request not received within \(AdminLoop.deadline)\n").bytes
            _ = try? late.withUnsafeBytes { try socket.write($0) }
        }
        loop.close(self)
    }

    /// Sends `response` with a fresh deadline: a client that stops reading is dropped, not waited for.
    private func answer(_ response: AdminResponse) {
        state = .writing(response.bytes, sent: 0)
        loop.deadlines.arm(self, now: MonotonicClock.nowNanoseconds())
        flush()
    }

    private func flush() {
        guard case .writing(let bytes, var sent) = state else { return }
        while sent < bytes.count {
            let result = try? bytes.withUnsafeBytes { try socket.write(UnsafeRawBufferPointer(rebasing: $0[sent...])) }
            switch result {
            case .value(let count)?:
                sent += count
            case .wouldBlock?:
                state = .writing(bytes, sent: sent)
                do { try loop.reactor.modify(socket, self, interest: Reactor.writable) } catch { loop.close(self) }
                return
            case nil:
                return loop.close(self)
            }
        }
        loop.close(self)
    }
}
