// The pools a loop keeps per config: one per endpoint however many arms list it, kept across a reload while listed, retired once not.
@testable import Proxy
import Config
import Logging
import Telemetry
import Testing

@Suite struct UpstreamDirectoryTests {
    private let metrics = MetricsRegistry(loopCount: 1)

    /// Routes "a" (primary `aEndpoints`, canary 127.0.0.1:9003) and "b" (primary `bEndpoints`).
    private func snapshot(a aEndpoints: [String], b bEndpoints: [String], generation: Int = 1) throws -> ProxySnapshot {
        let list = { (endpoints: [String]) in endpoints.map { "\"\($0)\"" }.joined(separator: ", ") }
        let yaml = """
            listeners:
              - name: http
                address: 127.0.0.1:8080
            routes:
              - name: a
                match:
                  pathPrefix: /a
                primary:
                  revision: v1
                  endpoints: [\(list(aEndpoints))]
                canary:
                  revision: v2
                  endpoints: ["127.0.0.1:9003"]
                  weight: 10
              - name: b
                match:
                  pathPrefix: /
                primary:
                  revision: v1
                  endpoints: [\(list(bEndpoints))]

            """
        return try ProxySnapshot(config: try ConfigLoader.parse(yaml), generation: generation)
    }

    private func install(_ snapshot: ProxySnapshot, into directory: UpstreamDirectory) {
        directory.install(snapshot, metrics: metrics, loop: 0, log: Logger(label: "test")) { _, _ in [] }
    }

    @Test func anEndpointListedByTwoArmsHasOnePoolCountingBothArmsEjections() throws {
        let directory = UpstreamDirectory()
        install(try snapshot(a: ["127.0.0.1:9001"], b: ["127.0.0.1:9001", "127.0.0.1:9002"]), into: directory)
        let shared = directory.routes[0].primary.pools[0]
        #expect(directory.routes[1].primary.pools[0] === shared)
        #expect(directory.routes[1].primary.pools[1] !== shared)
        #expect(shared.ejectionShards.count == 2)
        #expect(shared.ejectionShards[0] === directory.routes[0].primaryShard)
        #expect(shared.ejectionShards[1] === directory.routes[1].primaryShard)
    }

    @Test func aReloadKeepsThePoolsOfRemainingEndpointsAndRetiresTheOthers() throws {
        let directory = UpstreamDirectory()
        install(try snapshot(a: ["127.0.0.1:9001"], b: ["127.0.0.1:9002"]), into: directory)
        let kept = directory.routes[0].primary.pools[0], dropped = directory.routes[1].primary.pools[0]
        install(try snapshot(a: ["127.0.0.1:9004"], b: ["127.0.0.1:9001"], generation: 2), into: directory)
        #expect(directory.routes[1].primary.pools[0] === kept, "the endpoint moved to another route: same pool")
        #expect(!kept.retired)
        #expect(kept.ejectionShards.count == 1 && kept.ejectionShards[0] === directory.routes[1].primaryShard)
        #expect(dropped.retired)
        #expect(directory.routes[0].primary.pools[0] !== kept)
    }

    @Test func anArmIsFoundByItsShardUntilItsRouteIsGone() throws {
        let directory = UpstreamDirectory()
        install(try snapshot(a: ["127.0.0.1:9001"], b: ["127.0.0.1:9002"]), into: directory)
        let canaryShard = directory.routes[0].canaryShard
        #expect(directory.arm(countedBy: canaryShard) === directory.routes[0].canary)
        #expect(directory.arm(countedBy: directory.routes[1].primaryShard) === directory.routes[1].primary)
        let other = MetricsRegistry(loopCount: 1).shard(route: "a", arm: .canary, loop: 0)
        #expect(directory.arm(countedBy: other) == nil)
    }

    @Test func poolsOfConfiguredEndpointsAreFoundByHostAndPort() throws {
        let directory = UpstreamDirectory()
        install(try snapshot(a: ["127.0.0.1:9001"], b: ["127.0.0.1:9002"]), into: directory)
        let found = directory.pools(of: [HostPort(host: "127.0.0.1", port: 9003), HostPort(host: "127.0.0.1", port: 9002)])
        #expect(Set(found.map(\.configured.port)) == [9002, 9003])
    }
}
