// Admission on one loop: the listener's and the proxy's limits over all loops, hand-over only to a level peer on the same snapshot, counts moved with it.
@testable import Proxy
import Config
import EventLoop
import Telemetry
import Testing

@Suite struct ConnectionAdmissionTests {
    private let metrics = MetricsRegistry(loopCount: 3)
    /// One loop's control (an event loop only for its wake handle) with `open` connections serving `generation`.
    private func control(open: Int, generation: Int = 1) throws -> (LoopControl, EventLoop) {
        let loop = try EventLoop(bufferSize: 1024)
        let control = LoopControl(handle: loop.handle)
        control.openConnections.store(open, ordering: .relaxed)
        control.servedGeneration.store(generation, ordering: .relaxed)
        return (control, loop)
    }

    @Test func theProxyLimitCountsEveryLoop() throws {
        let (mine, l0) = try control(open: 3), (peer, l1) = try control(open: 4)
        let admission = ConnectionAdmission(control: mine, maxConnections: 8)
        let gauge = metrics.listener("http")
        #expect(!admission.atLimit(gauge, listenerLimit: nil), "3 here, no peers known yet")
        admission.peers = [peer]
        #expect(!admission.atLimit(gauge, listenerLimit: nil))
        peer.openConnections.add(1, ordering: .relaxed)
        #expect(admission.atLimit(gauge, listenerLimit: nil), "3 + 5 reaches 8")
        _ = (l0, l1)
    }

    @Test func aListenerStopsAtItsOwnLimitFirst() throws {
        let (mine, l0) = try control(open: 0)
        let admission = ConnectionAdmission(control: mine, maxConnections: 100)
        let gauge = metrics.listener("small")
        gauge.connections.store(2, ordering: .relaxed)
        #expect(admission.atLimit(gauge, listenerLimit: 2))
        #expect(!admission.atLimit(gauge, listenerLimit: 3))
        _ = l0
    }

    @Test func aConnectionIsHandedToTheEmptierPeerWithItsCount() throws {
        let (mine, l0) = try control(open: 5), (busy, l1) = try control(open: 5), (idle, l2) = try control(open: 3)
        let admission = ConnectionAdmission(control: mine, maxConnections: 100)
        admission.peers = [busy, idle]
        let gauge = metrics.listener("balanced")
        let target = admission.admit(on: gauge, balance: .connections, generation: 1)
        #expect(target === idle)
        #expect(mine.openConnections.load(ordering: .relaxed) == 5)
        #expect(idle.openConnections.load(ordering: .relaxed) == 4)
        #expect(mine.handedOver.load(ordering: .relaxed) == 1)
        #expect(gauge.connections.load(ordering: .relaxed) == 1, "the listener counts it whichever loop serves it")
        _ = (l0, l1, l2)
    }

    @Test func aPeerOnAnotherSnapshotOrWithoutBalancingKeepsTheConnectionHere() throws {
        let (mine, l0) = try control(open: 5), (newer, l1) = try control(open: 0, generation: 2)
        let admission = ConnectionAdmission(control: mine, maxConnections: 100)
        admission.peers = [newer]
        let gauge = metrics.listener("reloading")
        #expect(admission.admit(on: gauge, balance: .connections, generation: 1) == nil)
        newer.servedGeneration.store(1, ordering: .relaxed)
        #expect(admission.admit(on: gauge, balance: .kernel, generation: 1) == nil)
        #expect(mine.openConnections.load(ordering: .relaxed) == 7)
        #expect(mine.handedOver.load(ordering: .relaxed) == 0)
        _ = (l0, l1)
    }

    @Test func aCloseFreesBothCounts() throws {
        let (mine, l0) = try control(open: 0)
        let admission = ConnectionAdmission(control: mine, maxConnections: 100)
        let gauge = metrics.listener("closing")
        #expect(admission.admit(on: gauge, balance: .kernel, generation: 1) == nil)
        admission.closed(gauge)
        #expect(mine.openConnections.load(ordering: .relaxed) == 0)
        #expect(gauge.connections.load(ordering: .relaxed) == 0)
        _ = l0
    }
}
