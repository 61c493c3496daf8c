// The client gate of sticky routes: a step holds until enough distinct clients tried the canary.

import Testing
@testable import Analysis

@Suite struct ClientGateTests {
    @Test func fewerClientsThanTheMinimumHold() {
        let v = ClientGate.verdict(canaryClients: 3.2, minClients: 20)
        #expect(v.judge == "clients" && v.outcome == .hold)
        #expect(v.evidence.first { $0.name == "canary-clients" }?.value == 3)
        #expect(v.summary.contains("3 distinct canary clients of the 20"))
    }

    @Test func theMinimumPasses() {
        #expect(ClientGate.verdict(canaryClients: 19.6, minClients: 20).outcome == .pass)
        #expect(ClientGate.verdict(canaryClients: 19.4, minClients: 20).outcome == .hold)
        #expect(ClientGate.allows(canaryClients: 1, minClients: 1))
        #expect(!ClientGate.allows(canaryClients: 0, minClients: 1))
    }
}
