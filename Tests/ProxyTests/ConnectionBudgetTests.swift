// The default connection limit: half of the descriptor limit left after the reserve.
import Config
import Testing
@testable import Proxy

@Suite struct ConnectionBudgetTests {
    @Test func halfOfWhatTheReserveLeaves() {
        // 64 + 2 loops × (epoll + eventfd + 3 listeners) = 74 reserved.
        #expect(ConnectionBudget.reserve(loops: 2, listeners: 3) == 74)
        #expect(ConnectionBudget.derived(descriptorLimit: 1024, loops: 2, listeners: 3) == 475)
        #expect(ConnectionBudget.derived(descriptorLimit: 1_048_576, loops: 1, listeners: 1) == 524_254)
    }

    @Test func neverBelowOne() {
        #expect(ConnectionBudget.derived(descriptorLimit: 16, loops: 8, listeners: 4) == 1)
    }

    @Test func aConfiguredLimitWins() {
        var config = CanarygateConfig()
        config.limits.maxConnections = 10
        #expect(ConnectionBudget.maxConnections(config, loops: 4) == 10)
    }
}
