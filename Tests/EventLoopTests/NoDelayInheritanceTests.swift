// Listeners set TCP_NODELAY once for all their connections: an accepted socket inherits it from the listening one.
import Glibc
import Testing
@testable import EventLoop

@Suite struct NoDelayInheritanceTests {
    private static func noDelay(_ fd: Int32) -> Int32 {
        var value: Int32 = -1
        var length = socklen_t(MemoryLayout<Int32>.size)
        _ = getsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &value, &length)
        return value
    }

    /// Accepts one connection on a loopback listener with TCP_NODELAY set (or not) and reads the option on it.
    private static func acceptedNoDelay(listenerNoDelay: Bool) throws -> Int32 {
        let listener = try SocketDescriptor.listen(on: SocketAddress.resolve(host: "127.0.0.1", port: 0))
        defer { listener.close() }
        if listenerNoDelay { try listener.setOption(Int32(IPPROTO_TCP), TCP_NODELAY, 1) }
        let (client, _) = try SocketDescriptor.connect(to: listener.localAddress())
        defer { client.close() }
        var peer: SocketAddress?
        for _ in 0..<1000 {
            if case .value(let accepted) = try listener.accept(peer: &peer) {
                defer { accepted.close() }
                return noDelay(accepted.raw)
            }
            usleep(1000)
        }
        Issue.record("no connection accepted within a second")
        return -1
    }

    @Test func anAcceptedSocketInheritsNoDelay() throws {
        #expect(try Self.acceptedNoDelay(listenerNoDelay: true) != 0)
    }

    @Test func withoutItOnTheListenerNagleStaysOn() throws {
        #expect(try Self.acceptedNoDelay(listenerNoDelay: false) == 0)
    }
}
