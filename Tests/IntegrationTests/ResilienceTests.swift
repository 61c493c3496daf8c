// Failing endpoints over real sockets: outlier ejection, retries within the arm, and what the judges still see.
import Foundation
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension Integration {
    @Suite("Resilience")
    struct Resilience {
        static let failures = "canarygate_upstream_failures_total"
        static let retriedFailures = "canarygate_retried_failures_total"
        static let ejections = "canarygate_endpoint_ejections_total"
        static let requests = "canarygate_requests_total"

        /// Sends `count` GETs, each on its own connection: the statuses, and the bodies of the 200s.
        static func send(_ proxy: ProxyProcess, count: Int) throws -> (statuses: [Int], bodies: [String]) {
            var statuses: [Int] = [], bodies: [String] = []
            for _ in 0..<count {
                let response = try proxy.fetch(HTTPText.request())
                statuses.append(response.status)
                if response.status == 200 { bodies.append(response.text) }
            }
            return (statuses, bodies)
        }

        /// The finding: one connect failure took a route's only endpoint out for 2 s, and every request
        /// in between got the proxy's own 503 (224 of them in a real run). An arm's last endpoint is now
        /// never out of rotation: once the endpoint is back, the next request reaches it.
        @Test func anArmsOnlyEndpointIsTriedAgainRightAfterAConnectFailure() throws {
            let port = try Posix.freePort()
            try withProxy(.single(primaryEndpoints: ["127.0.0.1:\(port)"]), threads: 1) { proxy in
                let refused = try proxy.fetch(HTTPText.request())
                #expect(refused.status == 502, "connect refused: \(refused.status) \(refused.text)")
                let revived = try TestUpstream(port: port, text: "back")
                defer { revived.stop() }
                let (statuses, bodies) = try Self.send(proxy, count: 5)
                #expect(statuses == [200, 200, 200, 200, 200], "right after the endpoint came back: \(statuses)")
                #expect(bodies.allSatisfy { $0 == "back" })
            }
        }

        /// A canary whose endpoint resets every other request, behind retries: its clients see only
        /// successes, but the judges see every reset (as failures of the canary), and the primary is
        /// never asked.
        @Test func aCanaryResettingEveryOtherRequestStillShowsItsFailures() throws {
            let primary = try TestUpstream(name: "primary", text: "primary")
            defer { primary.stop() }
            let served = Atomic<Int>(0)
            let canary = try TestUpstream(name: "canary") { _ in
                served.add(1, ordering: .relaxed).newValue % 2 == 1 ? .reset : .text("canary")
            }
            defer { canary.stop() }
            let n = 20
            try withProxy(.single(primary: primary, canary: canary, weight: 100), threads: 1) { proxy in
                let (statuses, bodies) = try Self.send(proxy, count: n)
                #expect(statuses.allSatisfy { $0 == 200 }, "the client sees successes: \(statuses)")
                #expect(bodies.allSatisfy { $0 == "canary" })
                #expect(primary.requestCount == 0, "a retry never crosses arms")
                #expect(canary.requestCount == 2 * n, "every request took two attempts: \(canary.requestCount)")
                let canaryLabels = ["route": "web", "arm": "canary"]
                let metrics = try Integration.Metrics.scrape(proxy) { $0.sum(Self.requests, canaryLabels) >= Double(n) }
                #expect(
                    metrics.value(Self.failures, canaryLabels.merging(["source": "upstream_reset"]) { $1 }) == Double(n),
                    "resets counted against the canary: \(metrics.samples(Self.failures, canaryLabels))")
                #expect(
                    metrics.value(Self.retriedFailures, canaryLabels) == Double(n),
                    "requests whose failure a retry hid: \(metrics.samples(Self.retriedFailures))")
                #expect(metrics.value(Self.requests, canaryLabels.merging(["code": "200"]) { $1 }) == Double(n))
            }
        }

        /// The same over HTTP/2 (streams relayed to an HTTP/1.1 canary): the retry and its accounting
        /// are the stream's too.
        @Test func overHTTP2TheRetriedResetsAreStillTheCanarys() throws {
            try H2Tools.require(H2Tools.curl, package: "curl")
            let primary = try TestUpstream(name: "primary", text: "primary")
            defer { primary.stop() }
            let served = Atomic<Int>(0)
            let canary = try TestUpstream(name: "canary") { _ in
                served.add(1, ordering: .relaxed).newValue % 2 == 1 ? .reset : .text("canary")
            }
            defer { canary.stop() }
            let n = 10
            try withProxy(.single(primary: primary, canary: canary, weight: 100), threads: 1) { proxy in
                // One connection per request: several URLs on one h2c connection trip curl (also before this change).
                var codes: [String] = [], errors = ""
                for i in 0..<n {
                    let run = try ChildProcess.run(
                        H2Tools.curl,
                        [
                            "-sS", "--http2-prior-knowledge", "--max-time", "5", "-o", "/dev/null",
                            "-w", "%{http_code}", "http://127.0.0.1:\(proxy.port)/\(i)",
                        ], timeout: 10)
                    codes.append(run.stdout)
                    errors += run.stderr
                }
                #expect(codes == Array(repeating: "200", count: n), "\(codes) \(errors)")
                #expect(primary.requestCount == 0)
                let canaryLabels = ["route": "web", "arm": "canary"]
                let metrics = try Integration.Metrics.scrape(proxy) { $0.sum(Self.requests, canaryLabels) >= Double(n) }
                #expect(metrics.value(Self.retriedFailures, canaryLabels) == Double(n))
                #expect(metrics.value(Self.failures, canaryLabels.merging(["source": "upstream_reset"]) { $1 }) == Double(n))
            }
        }

        /// An HTTP/2 stream retried on another endpoint of its arm whose pool holds an idle connection
        /// goes on at once (a fresh connection's first event drives it; an idle one would bring none).
        @Test func overHTTP2ARetryOnAnotherEndpointGoesOnAtOnce() throws {
            let reset = try TestUpstream(name: "reset") { _ in .reset }
            defer { reset.stop() }
            let live = try TestUpstream(name: "live", text: "live")
            defer { live.stop() }
            // Only the retries are counted: five resets would eject the endpoint and end the test's point.
            var route = RouteSpec(primary: ArmSpec("v1", reset, live))
            route.outlierDetection = ["consecutiveFailures": "0"]
            try withProxy(ProxyConfig(routes: [route]), threads: 1) { proxy in
                var codes: [String] = []
                for i in 0..<6 {
                    let run = try ChildProcess.run(
                        H2Tools.curl,
                        [
                            "-sS", "--http2-prior-knowledge", "--max-time", "3", "-o", "/dev/null",
                            "-w", "%{http_code}", "http://127.0.0.1:\(proxy.port)/\(i)",
                        ], timeout: 10)
                    codes.append(run.stdout)
                }
                #expect(codes == Array(repeating: "200", count: 6), "\(codes)")
                #expect(reset.requestCount == 3)
            }
        }

        /// The same canary in a managed rollout: its clients get 200s, and the judges roll it back, since
        /// every one of its requests failed once.
        @Test func aCanaryWhoseFailuresRetriesHideIsStillRolledBack() throws {
            let primary = try TestUpstream.arm("primary", text: "v1")
            defer { primary.stop() }
            let served = Atomic<Int>(0)
            let canary = try TestUpstream(name: "canary") { _ in
                served.add(1, ordering: .relaxed).newValue % 2 == 1 ? .reset : .text("v2")
            }
            defer { canary.stop() }
            var spec = RolloutSpec(primary: primary, canary: canary)
            spec.interval = "5s"
            spec.progressDeadline = "30s"
            // Every canary request needs its retry: a budget as large as the traffic, so none is refused.
            spec.retries = ["budgetPercent": "100"]
            try withRolloutProxy(spec) { proxy in
                let history = RolloutHistory()
                // One client: the canary's requests alternate reset, success without two meeting.
                let (s, statuses) = try withLoad(proxy.port, clients: 1) { load in
                    let s = try proxy.waitForRollout(timeout: 8, history: history) { ["Failed", "Promoted"].contains($0.phase) }.status
                    return (s, load.statusCounts)
                }
                #expect(s.phase == "Failed", "canary: \(s)\nsteps: \(history.description)")
                #expect(statuses.keys.allSatisfy { $0 == 200 }, "clients saw \(statuses)")
                #expect(canary.requestCount >= 10)
                let metrics = try proxy.metrics()
                #expect((metrics.value(Self.retriedFailures, ["route": "web", "arm": "canary"]) ?? 0) >= 5)
            }
        }

        /// A connect failure goes to another endpoint of the same arm (never the other arm); the
        /// refused endpoint is ejected after its fifth consecutive failure and then skipped.
        @Test func aRefusedCanaryEndpointIsRetriedOnTheCanarysOtherEndpointThenEjected() throws {
            let primary = try TestUpstream(name: "primary", text: "primary")
            defer { primary.stop() }
            let live = try TestUpstream(name: "canary", text: "canary")
            defer { live.stop() }
            let closed = try Posix.freePort()
            // The default ejection (10 s) outlasts the test.
            let route = RouteSpec(
                primary: ArmSpec("v1", primary), canary: ArmSpec("v2", ["127.0.0.1:\(closed)", live.endpoint]), weight: 100)
            try withProxy(ProxyConfig(routes: [route]), threads: 1) { proxy in
                let n = 30
                let (statuses, bodies) = try Self.send(proxy, count: n)
                #expect(statuses.allSatisfy { $0 == 200 }, "statuses: \(statuses)")
                #expect(bodies.allSatisfy { $0 == "canary" })
                #expect(primary.requestCount == 0, "a retry never crosses arms")
                let canaryLabels = ["route": "web", "arm": "canary"]
                let metrics = try Integration.Metrics.scrape(proxy) { $0.sum(Self.requests, canaryLabels) >= Double(n) }
                // Round robin sends every other request to the refused endpoint until its fifth refusal.
                #expect(
                    metrics.value(Self.failures, canaryLabels.merging(["source": "connect_refused"]) { $1 }) == 5,
                    "\(metrics.samples(Self.failures, canaryLabels))")
                #expect(metrics.value(Self.retriedFailures, canaryLabels) == 5)
                #expect(metrics.value(Self.ejections, canaryLabels) == 1)
                #expect(metrics.value(Self.ejections, ["route": "web", "arm": "primary"]) == 0)
            }
        }

        /// An endpoint failing in a burst of 503s is ejected after five of them: the burst's rest is
        /// not served to clients, and the five 503s stay the canary's in the counts the judges read.
        @Test func anEndpointFailingInABurstIsEjectedAfterFiveGatewayFailures() throws {
            let primary = try TestUpstream(name: "primary", text: "primary")
            defer { primary.stop() }
            let burst = try TestUpstream(name: "burst") { _ in .text("overloaded", status: 503) }
            defer { burst.stop() }
            let healthy = try TestUpstream(name: "healthy", text: "canary")
            defer { healthy.stop() }
            let route = RouteSpec(primary: ArmSpec("v1", primary), canary: ArmSpec("v2", burst, healthy), weight: 100)
            try withProxy(ProxyConfig(routes: [route]), threads: 1) { proxy in
                let (statuses, _) = try Self.send(proxy, count: 40)
                #expect(statuses.filter { $0 == 503 }.count == 5, "statuses: \(statuses)")
                #expect(burst.requestCount == 5, "requests to the ejected endpoint: \(burst.requestCount)")
                #expect(primary.requestCount == 0)
                let canaryLabels = ["route": "web", "arm": "canary"]
                let metrics = try Integration.Metrics.scrape(proxy) { $0.sum(Self.requests, canaryLabels) >= 40 }
                #expect(metrics.value(Self.requests, canaryLabels.merging(["code": "503"]) { $1 }) == 5)
                #expect(metrics.value(Self.ejections, canaryLabels) == 1)
                #expect(Posix.waitUntil(timeout: 2) { proxy.log.contains("\(burst.endpoint) ejected for 10000 ms") }, "\(proxy.log)")
            }
        }

        /// A hanging upstream is not retried: the upstream may still be acting on the request.
        @Test func aResponseTimeoutIsNotRetried() throws {
            let hang = try TestUpstream(name: "hang") { _ in .hang(seconds: 5) }
            defer { hang.stop() }
            let other = try TestUpstream(name: "other", text: "other")
            defer { other.stop() }
            let route = RouteSpec(primary: ArmSpec("v1", hang, other))
            try withProxy(ProxyConfig(routes: [route], timeouts: ["upstreamResponse": "300ms"]), threads: 1) { proxy in
                let response = try proxy.fetch(HTTPText.request())
                #expect(response.status == 504)
                #expect(hang.requestCount == 1)
                #expect(other.requestCount == 0)
            }
        }

        /// A request with a body that was sent is not sent again after a reset: its body is gone.
        @Test func aResetAfterAPostWithABodyIsNotRetried() throws {
            let reset = try TestUpstream(name: "reset") { _ in .reset }
            defer { reset.stop() }
            let other = try TestUpstream(name: "other", text: "other")
            defer { other.stop() }
            let route = RouteSpec(primary: ArmSpec("v1", reset, other))
            try withProxy(ProxyConfig(routes: [route]), threads: 1) { proxy in
                let response = try proxy.fetch(HTTPText.request("POST", "/", text: "payload"))
                #expect(response.status == 502)
                #expect(reset.waitForRequests(1))
                #expect(reset.requestCount == 1)
                #expect(other.requestCount == 0)
            }
        }

        /// With `retries.attempts: 0` nothing is retried, not even a connect failure.
        @Test func retriesCanBeTurnedOff() throws {
            let live = try TestUpstream(name: "live", text: "live")
            defer { live.stop() }
            let closed = try Posix.freePort()
            var route = RouteSpec(primary: ArmSpec("v1", ["127.0.0.1:\(closed)", live.endpoint]))
            route.retries = ["attempts": "0"]
            try withProxy(ProxyConfig(routes: [route]), threads: 1) { proxy in
                let (statuses, _) = try Self.send(proxy, count: 2)
                #expect(statuses.sorted() == [200, 502], "statuses: \(statuses)")
            }
        }

        // MARK: active health checks

        /// Sends GETs until `done` holds for the body of the last `run` in a row (bounded by `timeout`):
        /// whether it did.
        static func sendUntil(_ proxy: ProxyProcess, run: Int = 10, timeout: Double = 5, _ done: (String) -> Bool) throws -> Bool {
            let deadline = Date().addingTimeInterval(timeout)
            var streak = 0
            while Date() < deadline {
                let response = try proxy.fetch(HTTPText.request())
                streak = response.status == 200 && done(response.text) ? streak + 1 : 0
                if streak >= run { return true }
                usleep(10_000)
            }
            return false
        }

        /// An endpoint whose health check fails gets no traffic until it passes `rise` checks again.
        @Test func anEndpointFailingItsHealthCheckGetsNoTrafficUntilItPassesAgain() throws {
            let healthy = Atomic<Bool>(false)
            let flaky = try TestUpstream(name: "flaky") { request in
                if request.path == "/healthz" { return .text("", status: healthy.load(ordering: .relaxed) ? 200 : 503) }
                return .text("flaky")
            }
            defer { flaky.stop() }
            let steady = try TestUpstream(name: "steady") { request in .text(request.path == "/healthz" ? "" : "steady") }
            defer { steady.stop() }
            var route = RouteSpec(primary: ArmSpec("v1", flaky, steady))
            route.healthCheck = ["path": "/healthz", "interval": "100ms", "timeout": "100ms", "rise": "2", "fall": "2"]
            try withProxy(ProxyConfig(routes: [route]), threads: 1) { proxy in
                let reached = try Self.sendUntil(proxy) { $0 == "steady" }
                #expect(reached, "the failing endpoint still had traffic")
                let before = flaky.requests.filter { $0.path == "/" }.count
                let (statuses, bodies) = try Self.send(proxy, count: 20)
                #expect(statuses.allSatisfy { $0 == 200 } && bodies.allSatisfy { $0 == "steady" }, "\(bodies)")
                #expect(flaky.requests.filter { $0.path == "/" }.count == before)
                healthy.store(true, ordering: .relaxed)
                let cameBack = try Self.sendUntil(proxy, run: 1) { $0 == "flaky" }
                #expect(cameBack, "the endpoint never came back")
            }
        }

        /// A health check that hangs fails at its timeout: a hanging endpoint is taken out too.
        @Test func aHangingHealthCheckTimesOutAndTakesTheEndpointOut() throws {
            let hanging = try TestUpstream(name: "hanging") { request in
                request.path == "/healthz" ? .hang(seconds: 3) : .text("hanging")
            }
            defer { hanging.stop() }
            let steady = try TestUpstream(name: "steady") { request in .text(request.path == "/healthz" ? "" : "steady") }
            defer { steady.stop() }
            var route = RouteSpec(primary: ArmSpec("v1", hanging, steady))
            route.healthCheck = ["path": "/healthz", "interval": "200ms", "timeout": "100ms", "rise": "1", "fall": "1"]
            try withProxy(ProxyConfig(routes: [route]), threads: 1) { proxy in
                let reached = try Self.sendUntil(proxy) { $0 == "steady" }
                #expect(reached, "the hanging endpoint still had traffic")
                #expect(hanging.hangsEndedByPeer >= 1 || hanging.requests.filter { $0.path == "/healthz" }.count >= 1)
            }
        }

        /// A TCP check of an endpoint that refuses connections takes it out of the canary's rotation; an
        /// arm's only endpoint, failing its checks, keeps its traffic (it never goes to the other arm).
        @Test func tcpChecksAndAnArmsOnlyEndpointKeepsItsTraffic() throws {
            let primary = try TestUpstream(name: "primary", text: "primary")
            defer { primary.stop() }
            let canary = try TestUpstream(name: "canary") { request in
                request.path == "/healthz" ? .text("", status: 503) : .text("canary")
            }
            defer { canary.stop() }
            var route = RouteSpec(primary: ArmSpec("v1", primary), canary: ArmSpec("v2", canary), weight: 100)
            route.healthCheck = ["path": "/healthz", "interval": "100ms", "timeout": "100ms", "rise": "1", "fall": "1"]
            try withProxy(ProxyConfig(routes: [route]), threads: 1) { proxy in
                #expect(canary.waitForRequests(3), "no health checks reached the canary")
                let (statuses, bodies) = try Self.send(proxy, count: 10)
                #expect(statuses.allSatisfy { $0 == 200 } && bodies.allSatisfy { $0 == "canary" }, "\(statuses) \(bodies)")
                #expect(primary.requests.filter { $0.path == "/" }.isEmpty)
            }
            let live = try TestUpstream(name: "live", text: "live")
            defer { live.stop() }
            let closed = try Posix.freePort()
            var tcpRoute = RouteSpec(primary: ArmSpec("v1", ["127.0.0.1:\(closed)", live.endpoint]))
            tcpRoute.healthCheck = ["tcp": "true", "interval": "100ms", "timeout": "100ms", "rise": "1", "fall": "1"]
            tcpRoute.retries = ["attempts": "0"]
            try withProxy(ProxyConfig(routes: [tcpRoute]), threads: 1) { proxy in
                let reached = try Self.sendUntil(proxy) { $0 == "live" }
                #expect(reached, "the refusing endpoint still had traffic")
            }
        }
    }
}
