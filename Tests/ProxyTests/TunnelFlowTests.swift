// The tunnel's rules without sockets: back-pressure, half-close, the end, the idle deadline.

@testable import Proxy
import Testing

@Suite("Tunnel flow")
struct TunnelFlowTests {
    @Test func aDirectionReadsOnlyOnceWhatItHoldsWasWritten() {
        let flow = TunnelFlow(now: 0)
        #expect(flow.next(.toUpstream, pending: 0) == .read)
        #expect(flow.next(.toUpstream, pending: 10) == .write)
        #expect(flow.next(.toClient, pending: 1) == .write)
    }

    @Test func anEndOfStreamIsPassedOnAfterTheBytesBeforeIt() {
        var flow = TunnelFlow(now: 0)
        flow.received(.toUpstream, count: 0, now: 5)
        #expect(flow.leg(.toUpstream) == .ended)
        #expect(flow.next(.toUpstream, pending: 3) == .write)
        #expect(flow.next(.toUpstream, pending: 0) == .shutdown)
        flow.shutDown(.toUpstream)
        #expect(flow.next(.toUpstream, pending: 0) == .finished)
        // The other direction goes on: a half-close.
        #expect(flow.next(.toClient, pending: 0) == .read)
        #expect(!flow.isDone)
    }

    @Test func theTunnelIsDoneWhenBothDirectionsAreShut() {
        var flow = TunnelFlow(now: 0)
        for direction in [TunnelFlow.Direction.toClient, .toUpstream] {
            flow.received(direction, count: 0, now: 1)
            flow.shutDown(direction)
        }
        #expect(flow.isDone)
    }

    @Test func anEndOfStreamDoesNotReopenAShutDirection() {
        var flow = TunnelFlow(now: 0)
        flow.shutDown(.toClient)
        flow.received(.toClient, count: 0, now: 1)
        #expect(flow.leg(.toClient) == .shut)
    }

    @Test func idleMeansNoByteForTheWholeTimeout() {
        var flow = TunnelFlow(now: 100)
        #expect(flow.idleCheck(now: 1100, timeout: 1000) == .expired)
        flow.received(.toClient, count: 7, now: 600)
        // The deadline armed at 100 passes at 1100: a byte at 600 moves it to 1600.
        #expect(flow.idleCheck(now: 1100, timeout: 1000) == .rearm(from: 600))
        #expect(flow.idleCheck(now: 1600, timeout: 1000) == .expired)
        #expect(flow.openedAt == 100)
    }

    @Test func anEndOfStreamIsNotActivity() {
        var flow = TunnelFlow(now: 0)
        flow.received(.toUpstream, count: 0, now: 900)
        #expect(flow.idleCheck(now: 1000, timeout: 1000) == .expired)
    }
}
