// The /status field of a sticky route: client and request shares in percent, to one decimal.
import Telemetry
import Testing

@testable import Canarygate

@Suite struct AffinityStatusTests {
    @Test func sharesKeepTheirDecimal() {
        let counts = ClientCounts(primaryClients: 877, canaryClients: 123, primaryRequests: 3, canaryRequests: 1)
        let field = AffinityMetrics.statusField(counts)
        #expect(field.contains("\"clientSharePercent\":12.3"), "\(field)")
        #expect(field.contains("\"requestSharePercent\":25,") || field.hasSuffix("\"requestSharePercent\":25}"), "\(field)")
        #expect(field.hasPrefix("{\"primaryClients\":877,\"canaryClients\":123,"), "\(field)")
    }

    @Test func noClientsYetIsNull() {
        let field = AffinityMetrics.statusField(ClientCounts(primaryClients: 0, canaryClients: 0, primaryRequests: 0, canaryRequests: 0))
        #expect(field.contains("\"clientSharePercent\":null"), "\(field)")
    }
}
