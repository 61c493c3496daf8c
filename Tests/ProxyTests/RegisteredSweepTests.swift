// The shared walk over registered objects: each kind reaches its own body, other objects none, in slot order.
@testable import Proxy
import EventLoop
import Glibc
import Testing

private class Tagged: Pollable {
    let tag: Int
    init(_ tag: Int) { self.tag = tag }
}
private final class First: Tagged {}
private final class Second: Tagged {}
private final class Other: Tagged {}

@Suite struct RegisteredSweepTests {
    /// Registered on the read ends of pipes (no sockets needed): the walk only looks at the reactor's slots.
    private func register(_ objects: [Pollable], on reactor: Reactor) throws -> [Int32] {
        try objects.flatMap { object in
            var ends: [Int32] = [0, 0]
            try #require(pipe(&ends) == 0)
            try reactor.register(SocketDescriptor(raw: ends[0]), object, interest: Reactor.readable)
            return ends
        }
    }

    @Test func eachKindReachesItsOwnBodyAndOthersNone() throws {
        let reactor = try Reactor()
        let objects: [Tagged] = [First(1), Other(2), Second(3), First(4), Second(5), Other(6)]
        let fds = try register(objects, on: reactor)
        defer { for fd in fds { close(fd) } }
        var firsts: [Int] = [], seconds: [Int] = []
        reactor.forEachRegistered({ (f: First) in firsts.append(f.tag) }, or: { (s: Second) in seconds.append(s.tag) })
        #expect(firsts == [1, 4])
        #expect(seconds == [3, 5])
    }

    @Test func aDeregisteredObjectIsNotVisited() throws {
        let reactor = try Reactor()
        let gone = First(1), kept = First(2)
        let fds = try register([gone, kept], on: reactor)
        defer { for fd in fds { close(fd) } }
        reactor.deregister(gone)
        var seen: [Int] = []
        reactor.forEachRegistered({ (f: First) in seen.append(f.tag) }, or: { (_: Second) in Issue.record("no Second is registered") })
        #expect(seen == [2])
    }
}
