// Which listening sockets a reload keeps, closes and opens, decided from names, addresses and TLS on or off alone.
@testable import Proxy
import EventLoop
import Testing

private func listener(_ name: String, port: UInt16, tls: Bool = false) throws -> ListenerIdentity {
    ListenerIdentity(name: name, address: try SocketAddress.resolve(host: "127.0.0.1", port: port), tls: tls)
}

@Suite struct ListenerReconcileTests {
    @Test func anUnchangedListenerIsKeptAsItsNewSelf() throws {
        let current = [try listener("a", port: 8080), try listener("b", port: 8081)]
        let next = [try listener("b", port: 8081), try listener("a", port: 8080)]
        let plan = ListenerReconcile(current: current, next: next)
        #expect(plan.keptAs == [1, 0])
        #expect(plan.opened == [])
    }

    @Test func aMovedListenerClosesAndOpensAgain() throws {
        let plan = ListenerReconcile(current: [try listener("a", port: 8080)], next: [try listener("a", port: 9090)])
        #expect(plan.keptAs == [nil])
        #expect(plan.opened == [0])
    }

    @Test func aRenamedListenerClosesAndOpensAgain() throws {
        let plan = ListenerReconcile(current: [try listener("a", port: 8080)], next: [try listener("z", port: 8080)])
        #expect(plan.keptAs == [nil])
        #expect(plan.opened == [0])
    }

    @Test func turningTLSOnOrOffIsAnotherSocket() throws {
        let plan = ListenerReconcile(
            current: [try listener("a", port: 8443), try listener("b", port: 8444, tls: true)],
            next: [try listener("a", port: 8443, tls: true), try listener("b", port: 8444)])
        #expect(plan.keptAs == [nil, nil])
        #expect(plan.opened == [0, 1])
    }

    @Test func aRemovedListenerClosesAndAnAddedOneOpensInConfigOrder() throws {
        let current = [try listener("a", port: 8080), try listener("gone", port: 8081)]
        let next = [try listener("new2", port: 8083), try listener("a", port: 8080), try listener("new1", port: 8082)]
        let plan = ListenerReconcile(current: current, next: next)
        #expect(plan.keptAs == [1, nil])
        #expect(plan.opened == [0, 2])
    }

    @Test func aDrainedLoopWithNoListenersOpensNone() throws {
        let plan = ListenerReconcile(current: [try listener("a", port: 8080)], next: [])
        #expect(plan.keptAs == [nil])
        #expect(plan.opened == [])
    }
}
