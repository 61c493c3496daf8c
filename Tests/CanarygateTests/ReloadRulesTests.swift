// Which settings a reload refuses to change, without sockets: here the `cluster` section.
@testable import Canarygate
import Config
import Testing

@Suite struct ReloadRulesTests {
    private func config(cluster: ClusterConfig?) -> CanarygateConfig {
        var config = CanarygateConfig()
        config.cluster = cluster
        return config
    }

    private let shop = ClusterConfig(name: "shop", replica: "a", etcd: [EtcdEndpoint(secure: false, host: "127.0.0.1", port: 2379)])

    /// The reload's refusal, or nil when it is accepted.
    private func refusal(old: ClusterConfig?, new: ClusterConfig?) -> String? {
        do {
            try ReloadRules.check(old: config(cluster: old), new: config(cluster: new))
            return nil
        } catch {
            return error.message
        }
    }

    @Test func clusterCannotChangeWithoutARestart() {
        var longerLease = shop
        longerLease.leaseTTL = .seconds(10)
        var otherEndpoint = shop
        otherEndpoint.etcd = [EtcdEndpoint(secure: false, host: "127.0.0.1", port: 12379)]
        let refused = "cluster: cannot change without a restart"
        #expect(refusal(old: nil, new: shop) == refused, "joining a fleet")
        #expect(refusal(old: shop, new: nil) == refused, "leaving a fleet")
        #expect(refusal(old: shop, new: longerLease) == refused)
        #expect(refusal(old: shop, new: otherEndpoint) == refused)
    }

    @Test func anUnchangedClusterIsAccepted() {
        #expect(refusal(old: shop, new: shop) == nil)
        #expect(refusal(old: nil, new: nil) == nil)
        var reloaded = config(cluster: shop)
        reloaded.routes = [
            RouteConfig(
                name: "web", match: MatchConfig(), primary: ArmConfig(revision: "v2", endpoints: [HostPort(host: "127.0.0.1", port: 9002)]),
                canary: nil)
        ]
        #expect(throws: Never.self) { try ReloadRules.check(old: config(cluster: shop), new: reloaded) }
    }
}
