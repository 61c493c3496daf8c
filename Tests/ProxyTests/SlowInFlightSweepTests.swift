// The in-flight sweep's thresholds: both arms of a managed route with a published T, nothing for others; it ticks only while a route is managed.
@testable import Proxy
import Config
import EventLoop
import Logging
import Telemetry
import Testing

@Suite struct SlowInFlightSweepTests {
    /// Route "managed" (with `analysis`) and route "static" (a fixed canary weight), installed on one loop's directory.
    private func routes() throws -> (ProxySnapshot, UpstreamDirectory) {
        let yaml = """
            listeners:
              - name: http
                address: 127.0.0.1:8080
            routes:
              - name: managed
                match: { pathPrefix: /m }
                primary: { revision: v1, endpoints: ["127.0.0.1:9001"] }
                canary: { revision: v2, endpoints: ["127.0.0.1:9002"] }
                analysis: {}
              - name: static
                match: { pathPrefix: / }
                primary: { revision: v1, endpoints: ["127.0.0.1:9003"] }
                canary: { revision: v2, endpoints: ["127.0.0.1:9004"], weight: 10 }

            """
        let snapshot = try ProxySnapshot(config: try ConfigLoader.parse(yaml), generation: 1)
        let directory = UpstreamDirectory()
        directory.install(snapshot, metrics: MetricsRegistry(loopCount: 1), loop: 0, log: Logger(label: "test")) { _, _ in [] }
        return (snapshot, directory)
    }

    @Test func bothArmsOfAManagedRouteWithAPublishedTAreSwept() throws {
        let (snapshot, directory) = try routes()
        let managed = snapshot.routes.byIndex[0]
        #expect(managed.managed && !snapshot.routes.byIndex[1].managed)
        managed.slowThreshold.set(seconds: 0.25)
        let sweep = SlowInFlightSweep()
        #expect(sweep.refillThresholds(routes: snapshot.routes.byIndex, runtimes: directory.routes))
        #expect(sweep.threshold(of: directory.routes[0].primaryShard) == 250_000_000)
        #expect(sweep.threshold(of: directory.routes[0].canaryShard) == 250_000_000)
        #expect(sweep.threshold(of: directory.routes[1].canaryShard) == 0, "a static route is never swept")
    }

    @Test func noPublishedTSweepsNothingAndAWithdrawnOneIsForgotten() throws {
        let (snapshot, directory) = try routes()
        let sweep = SlowInFlightSweep()
        #expect(!sweep.refillThresholds(routes: snapshot.routes.byIndex, runtimes: directory.routes))
        snapshot.routes.byIndex[0].slowThreshold.set(seconds: 1)
        #expect(sweep.refillThresholds(routes: snapshot.routes.byIndex, runtimes: directory.routes))
        snapshot.routes.byIndex[0].slowThreshold.set(seconds: nil)
        #expect(!sweep.refillThresholds(routes: snapshot.routes.byIndex, runtimes: directory.routes))
        #expect(sweep.threshold(of: directory.routes[0].primaryShard) == 0)
    }

    @Test func ticksOnlyWhileARouteIsManagedAndOnceAtATime() throws {
        let (snapshot, _) = try routes()
        let list = DeadlineList(duration: .milliseconds(100))
        let sweep = SlowInFlightSweep()
        sweep.keepTicking(routes: [snapshot.routes.byIndex[1]], on: list, now: 0)
        #expect(!sweep.hasDeadline)
        sweep.keepTicking(routes: snapshot.routes.byIndex, on: list, now: 0)
        #expect(sweep.deadline == 100_000_000)
        sweep.keepTicking(routes: snapshot.routes.byIndex, on: list, now: 50_000_000)
        #expect(sweep.deadline == 100_000_000, "an armed tick is not pushed back")
        sweep.cancelDeadline()
    }
}
