// The one routing decision, over a protocol-neutral request view: route by authority and path, arm and reason, refusals.
import HTTP
@testable import Proxy
import Testing

@Suite struct RouteDecisionTests {
    private func config(canaryWeight: Int) throws -> String {
        """
        listeners:
          - name: http
            address: 127.0.0.1:\(try freePort())
        routes:
          - name: shop
            match: { host: shop.example, pathPrefix: /beta }
            primary: { revision: v1, endpoints: ["127.0.0.1:\(try freePort())"] }
            canary: { revision: v2, weight: \(canaryWeight), endpoints: ["127.0.0.1:\(try freePort())"] }
          - name: grpc
            match: { host: grpc.example }
            primary: { revision: v1, protocol: h2, endpoints: ["127.0.0.1:\(try freePort())"] }
          - name: rest
            primary: { revision: v1, endpoints: ["127.0.0.1:\(try freePort())"] }
        """
    }

    /// Routes an HTTP/1.1 head through `loop`; the decision is described as text for the expectations.
    private func route(_ head: String, on loop: ProxyLoop, client: ClientProtocol = .http1) -> String {
        let raw = Array(head.utf8)
        var parser = RequestHeadParser(maxHeaderBytes: 8192, maxHeaderCount: 64)
        var request = RequestHead()
        let parsed = raw.withUnsafeBytes { parser.parse($0, into: &request) }
        guard parsed == .complete else { return "unparsed" }
        let routing = raw.withUnsafeBytes { source in request.withView(source: source) { loop.route($0, client: client) } }
        switch routing {
        case .refused(let failure): return "refused \(failure.status)"
        case .routed(let d):
            let shardMatches =
                d.shard
                === (d.arm == .canary
                    ? loop.upstreams.routes[d.route.index].canaryShard
                    : loop.upstreams.routes[d.route.index].primaryShard)
            return "\(d.route.name) \(d.arm) \(d.reason) \(shardMatches ? "shard ok" : "wrong shard")"
        }
    }

    @Test func theMostSpecificRouteTakesTheRequestAndItsArmIsNamedWithItsReason() throws {
        let loop = try makeLoop(yaml: try config(canaryWeight: 100))
        defer { loop.shutdown() }
        #expect(route("GET /beta/x HTTP/1.1\r\nHost: shop.example\r\n\r\n", on: loop) == "shop canary split shard ok")
        #expect(route("GET /other HTTP/1.1\r\nHost: shop.example\r\n\r\n", on: loop) == "rest primary onlyArm shard ok")
        #expect(route("GET /beta HTTP/1.1\r\nHost: SHOP.example:80\r\n\r\n", on: loop) == "shop canary split shard ok")
    }

    @Test func aCanaryAtWeightZeroLeavesThePrimaryAsTheOnlyArm() throws {
        let loop = try makeLoop(yaml: try config(canaryWeight: 0))
        defer { loop.shutdown() }
        #expect(route("GET /beta HTTP/1.1\r\nHost: shop.example\r\n\r\n", on: loop) == "shop primary onlyArm shard ok")
    }

    @Test func anHTTP2RouteTakesHTTP1ClientsButRefusesTheirGRPC() throws {
        let loop = try makeLoop(yaml: try config(canaryWeight: 0))
        defer { loop.shutdown() }
        #expect(route("GET / HTTP/1.1\r\nHost: grpc.example\r\n\r\n", on: loop) == "grpc primary onlyArm shard ok")
        let grpc = "POST / HTTP/1.1\r\nHost: grpc.example\r\nContent-Type: Application/GRPC+proto\r\nContent-Length: 0\r\n\r\n"
        #expect(route(grpc, on: loop) == "refused 505")
        #expect(route(grpc, on: loop, client: .http2) == "grpc primary onlyArm shard ok")
        // gRPC to a route without an HTTP/2 arm is an ordinary request.
        #expect(route(grpc.replacingOccurrences(of: "grpc.example", with: "other.example"), on: loop) == "rest primary onlyArm shard ok")
    }

    @Test func aRequestNoRouteMatchesIsRefusedWith404() throws {
        let loop = try makeLoop(
            yaml: """
                listeners:
                  - name: http
                    address: 127.0.0.1:\(try freePort())
                routes:
                  - name: only
                    match: { host: a.example }
                    primary: { revision: v1, endpoints: ["127.0.0.1:\(try freePort())"] }
                """)
        defer { loop.shutdown() }
        #expect(route("GET / HTTP/1.1\r\nHost: b.example\r\n\r\n", on: loop) == "refused 404")
        #expect(route("GET / HTTP/1.0\r\n\r\n", on: loop) == "refused 404")
    }
    /// A route whose canary takes the `x-canary: insider` cohort, at `weight`; managed (with `analysis`) or static.
    private func cohortConfig(weight: Int, managed: Bool) throws -> String {
        """
        listeners:
          - name: http
            address: 127.0.0.1:\(try freePort())
        routes:
          - name: shop
            primary: { revision: v1, endpoints: ["127.0.0.1:\(try freePort())"] }
            canary:
              revision: v2
              weight: \(weight)
              endpoints: ["127.0.0.1:\(try freePort())"]
              match: [ { headers: { x-canary: { exact: insider } } } ]
        \(managed ? "    analysis: {}" : "")
        """
    }

    @Test func aCohortRequestGoesToTheCanaryAtWeightZeroAndTheRestToThePrimary() throws {
        let loop = try makeLoop(yaml: try cohortConfig(weight: 0, managed: false))
        defer { loop.shutdown() }
        #expect(route("GET / HTTP/1.1\r\nHost: a\r\nX-Canary: insider\r\n\r\n", on: loop) == "shop canary cohort shard ok")
        #expect(route("GET / HTTP/1.1\r\nHost: a\r\nX-Canary: other\r\n\r\n", on: loop) == "shop primary onlyArm shard ok")
    }

    @Test func theWeightSplitsTheRequestsOutsideTheCohort() throws {
        let loop = try makeLoop(yaml: try cohortConfig(weight: 100, managed: false))
        defer { loop.shutdown() }
        #expect(route("GET / HTTP/1.1\r\nHost: a\r\nX-Canary: insider\r\n\r\n", on: loop) == "shop canary cohort shard ok")
        #expect(route("GET / HTTP/1.1\r\nHost: a\r\n\r\n", on: loop) == "shop canary split shard ok")
    }

    @Test func aManagedRoutesCohortFollowsTheRolloutsWeight() throws {
        let loop = try makeLoop(yaml: try cohortConfig(weight: 0, managed: true))
        defer { loop.shutdown() }
        let cell = loop.snapshot.routes.byIndex[0].weight
        let insider = "GET / HTTP/1.1\r\nHost: a\r\nX-Canary: insider\r\n\r\n"
        // Not started (or pre-rollout hooks running): weight 0, the cohort stays on the primary.
        #expect(route(insider, on: loop) == "shop primary onlyArm shard ok")
        cell.set(10)
        #expect(route(insider, on: loop) == "shop canary cohort shard ok")
        // Rolled back: the controller sets 0, and the very next cohort request is the primary's.
        cell.set(0)
        #expect(route(insider, on: loop) == "shop primary onlyArm shard ok")
    }
}
