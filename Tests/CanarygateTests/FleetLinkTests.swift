// A fleet replica's own rules: the local dead-canary guard, what its record carries, verbs by name.
import Cluster
import Config
import Logging
import Rollout
import Telemetry
import Testing

@testable import Canarygate

@Suite struct FleetLinkTests {
    static let yaml = """
        admin: { address: "127.0.0.1:9901" }
        listeners: [{ name: http, address: "127.0.0.1:8080" }]
        cluster: { name: shop, replica: a, etcd: ["http://127.0.0.1:2379"] }
        routes:
          - name: web
            primary: { revision: v1, endpoints: ["127.0.0.1:9001"] }
            canary: { revision: v2, endpoints: ["127.0.0.1:9002"] }
            analysis: { interval: 1s, stepWeight: 25, maxWeight: 50 }
          - name: static
            match: { pathPrefix: /static }
            primary: { revision: v1, endpoints: ["127.0.0.1:9003"] }
        """

    func link() throws -> FleetLink {
        let config = try ConfigLoader.parse(Self.yaml)
        let agent = ClusterAgent(config: config.cluster!, replica: "a", logger: Logger(label: "test"))
        return FleetLink(agent: agent, admin: "127.0.0.1:9901", config: config)
    }

    /// Cumulative canary counts: `requests` answered, `failed` of them with a 502.
    func snapshot(requests: UInt64, failed: UInt64) -> RouteSnapshot {
        RouteSnapshot(name: "web", canary: ArmSnapshot(requestsByStatus: [200: requests - failed, 502: failed]))
    }

    let tick: UInt64 = 100_000_000

    @Test func theGuardFiresOnASecondOfCanaryRequestsThatAllFailed() throws {
        let fleet = try link()
        var alarm: ReplicaAlarm?
        for i in 0...10 {
            let n = UInt64(i) * 2
            alarm = fleet.guardTick(
                route: "web", revision: "v2", current: snapshot(requests: n, failed: n), judging: true, now: UInt64(i) * tick)
            if i < 10 { #expect(alarm == nil, "fired after \(i) ticks, before a whole second") }
        }
        #expect(alarm?.route == "web" && alarm?.revision == "v2")
        #expect(alarm?.reason.contains("dead canary") == true)
    }

    @Test func aSuccessEveryTickKeepsTheCanary() throws {
        let fleet = try link()
        for i in 0...12 {
            let n = UInt64(i) * 2
            let alarm = fleet.guardTick(
                route: "web", revision: "v2", current: snapshot(requests: n, failed: n - UInt64(i)), judging: true, now: UInt64(i) * tick)
            #expect(alarm == nil)
        }
    }

    @Test func notJudgingForgetsTheWindow() throws {
        let fleet = try link()
        for i in 0...8 {
            let n = UInt64(i) * 2
            _ = fleet.guardTick(
                route: "web", revision: "v2", current: snapshot(requests: n, failed: n), judging: true, now: UInt64(i) * tick)
        }
        // Weight 0 for a tick: what came before no longer counts toward a whole second.
        _ = fleet.guardTick(route: "web", revision: "v2", current: snapshot(requests: 18, failed: 18), judging: false, now: 9 * tick)
        for i in 10...15 {
            let n = UInt64(i) * 2
            let alarm = fleet.guardTick(
                route: "web", revision: "v2", current: snapshot(requests: n, failed: n), judging: true, now: UInt64(i) * tick)
            #expect(alarm == nil)
        }
    }

    @Test func theRecordCarriesManagedRoutesAndDrops() throws {
        let fleet = try link()
        fleet.drops["web"] = ReplicaAlarm(route: "web", revision: "v2", reason: "dead canary")
        let local = MetricsSnapshot(routes: [snapshot(requests: 4, failed: 1), RouteSnapshot(name: "static")])
        let record = fleet.record(local: local)
        #expect(try record.routes().map(\.name) == ["web"])
        #expect(record.alarms.map(\.route) == ["web"])
        #expect(record.revisions["web"] == RouteRevisions(primary: "v1", canary: "v2"))
        #expect(record.replica == "a" && record.incarnation == fleet.incarnation)
    }

    @Test func everyVerbTravelsByItsName() {
        let verbs: [ManualVerb] = [.pause, .resume, .promote(force: false), .promote(force: true), .abort, .retry, .undo]
        for verb in verbs { #expect(ManualVerb(name: verb.name) == verb) }
        #expect(ManualVerb(name: "reboot") == nil)
    }
}
