// config/fleet.yaml, the shipped fleet-mode example, loads with the cluster its comments describe.
import Config
import Testing

@Suite struct FleetExampleTests {
    @Test func shippedFleetFileIsReplicaAOfShopOnLocalEtcd() throws {
        // #filePath is …/Tests/ConfigTests/FleetExampleTests.swift; the file is …/config/fleet.yaml.
        let root = #filePath.split(separator: "/", omittingEmptySubsequences: false).dropLast(3).joined(separator: "/")
        let config = try ConfigLoader.load(path: root + "/config/fleet.yaml")
        var cluster = ClusterConfig(name: "shop", replica: "a", etcd: [EtcdEndpoint(secure: false, host: "127.0.0.1", port: 2379)])
        cluster.leaseTTL = .seconds(3)
        cluster.publishInterval = .milliseconds(500)
        #expect(config.cluster == cluster)
        #expect(config.state == nil, "the fleet's state lives in etcd")
        let route = try #require(config.routes.first)
        #expect(route.canary?.arm.revision == "v2")
        let analysis = try #require(route.analysis, "a managed route")
        #expect(analysis.interval == .seconds(1) && analysis.threshold == 2 && analysis.minRequests == 10)
    }
}
