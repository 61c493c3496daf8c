// Blue/green with a mirror end to end: the canary is judged on copies only, then takes everything at once or is switched off.
import Foundation
import Testing

extension Integration {
    @Suite("Blue/green with a mirror")
    struct BlueGreenMirror {
        static let copies = "canarygate_mirror_requests_total"

        /// An arm answering `same` with `X-Served-By: name`, so a client can tell the arms apart while their
        /// bodies compare equal (the mirror ignores that one header).
        static func arm(_ name: String) throws -> TestUpstream {
            try TestUpstream(name: name) { _ in .text("same", headers: [HTTPField("X-Served-By", name)]) }
        }

        /// A blue/green route: iterations without `canary.match`, and a mirror copying every eligible request.
        static func spec(primary: TestUpstream, canary: TestUpstream, iterations: Int, mirror: String) -> RolloutSpec {
            var spec = RolloutSpec(primary: primary, canary: canary)
            spec.iterations = iterations
            spec.mirror = mirror
            spec.ignoreLoopbackLatencyJitter()
            return spec
        }

        /// Every copy's outcome so far, whatever its result.
        static func copiesSent(_ metrics: PromText) -> Double {
            ["completed", "dropped", "skipped", "failed", "timeout"].reduce(0) {
                $0 + (metrics.value(copies, ["route": "web", "result": $1]) ?? 0)
            }
        }

        @Test func aHealthyCanaryIsJudgedOnCopiesOnlyThenTakesAllTrafficAtOnce() throws {
            let primary = try Self.arm("primary")
            let canary = try Self.arm("canary")
            defer { primary.stop(); canary.stop() }
            let mirror = "{ weight: 100, compare: { latency: false, ignoreHeaders: [x-served-by] } }"
            // No rollout hooks: only the judges, on the copies, can pass an iteration.
            let spec = Self.spec(primary: primary, canary: canary, iterations: 3, mirror: mirror)
            try withRolloutProxy(spec) { proxy in
                let client = try RawClient(port: proxy.port)
                let seen = try proxy.sendBatchesUntilDone { () throws -> (copiesBefore: Int, servers: [String]) in
                    let copiesBefore = canary.requestCount
                    return (copiesBefore, servers: try (0..<20).map { try client.get("/req/\($0)").headers["X-Served-By"] ?? "?" })
                } whileProgressing: { s, batch in
                    #expect(s.routeWeight == 0 && s.canaryLiveAtZero && s.iterationsOf == 3, "\(s)")
                    #expect(batch.servers.allSatisfy { $0 == "primary" }, "a client was answered by \(batch.servers)")
                    // Copies are sent after the primary answers; the canary has them by the next batch.
                    #expect(canary.waitForRequests(batch.copiesBefore + 20), "copies reached the canary: \(canary.requestCount)")
                }
                let s = seen.status, done = seen.iterationsSeen
                #expect(s.phase == "Promoted", "\(s)\n\(Integration.RolloutEndToEnd.logExcerpt(proxy))")
                #expect(s.routeWeight == 100 && s.iterations == 3 && !s.canaryLiveAtZero, "\(s)")
                #expect(seen.duringIterations >= 3, "batches seen during the iterations: \(seen.duringIterations)")
                #expect(done.contains(1) && done.contains(2) && done == done.sorted(), "iterations seen: \(done)")
                // The judges passed the intervals on the copies: none was an interval "without canary traffic".
                #expect(!s.events.contains { $0.contains("on the rollout hooks") }, "events: \(s.events)")
                let metrics = try proxy.metrics()
                #expect(
                    (metrics.value(Self.copies, ["route": "web", "result": "completed"]) ?? 0) >= 60, "\(metrics.samples(Self.copies))")
                for kind in ["status", "body"] {
                    #expect(metrics.value("canarygate_mirror_mismatches_total", ["route": "web", "kind": kind]) == 0, "\(kind)")
                }
                let servers = try (0..<20).map { try client.get("/after/\($0)").headers["X-Served-By"] ?? "?" }
                #expect(servers.allSatisfy { $0 == "canary" }, "one switch: all traffic on the canary, got \(servers)")
            }
        }

        @Test func aRestartMidIterationsResumesTheCopies() throws {
            let primary = try Self.arm("primary")
            let canary = try Self.arm("canary")
            defer { primary.stop(); canary.stop() }
            let dir = try TempDir.make()
            let mirror = "{ weight: 100, compare: { latency: false, ignoreHeaders: [x-served-by] } }"
            var spec = Self.spec(primary: primary, canary: canary, iterations: 100, mirror: mirror)  // far from done
            spec.statePath = dir.url.appendingPathComponent("state.json").path
            try withRolloutProxy(spec, dir: dir) { proxy in
                try proxy.restartWhileHeldLive()
                let copiesBefore = canary.requestCount
                let client = try RawClient(port: proxy.port)
                let servers = try (0..<10).map { try client.get("/r/\($0)").headers["X-Served-By"] ?? "?" }
                #expect(servers.allSatisfy { $0 == "primary" }, "a client was answered by \(servers)")
                #expect(canary.waitForRequests(copiesBefore + 10), "the restored hold sends copies again: \(canary.requestCount)")
            }
        }

        @Test(arguments: [
            // Errors: any of the judges measuring the copies' outcomes may be first.
            ("500", ["mirror-mismatch", "request-success-rate", "sequential", "comparison-errors", "dead-canary"]),
            // Healthy by every traffic measure, but it answers differently: only the mismatch judge sees it.
            ("other body", ["mirror-mismatch"]),
        ])
        func aBadCanaryIsSwitchedOffBeforeAnyClientSawItAndCopiesStop(kind: String, judges: [String]) throws {
            let primary = try TestUpstream.arm("primary", text: "v1")
            let canary = try TestUpstream.arm("canary", text: "v2", failPercent: kind == "500" ? 100 : 0)
            defer { primary.stop(); canary.stop() }
            let spec = Self.spec(primary: primary, canary: canary, iterations: 5, mirror: "{ weight: 100, compare: { latency: false } }")
            try withRolloutProxy(spec) { proxy in
                let client = try RawClient(port: proxy.port)
                let history = RolloutHistory()
                let deadline = Date().addingTimeInterval(15)
                var answers: Set<String> = []
                var s = try proxy.rollout()
                while s.phase != "Failed", s.phase != "Promoted", Date() < deadline {
                    for i in 0..<10 { answers.insert(try client.get("/req/\(i)").text) }
                    s = try proxy.rollout()
                    history.note(s)
                }
                #expect(s.phase == "Failed", "\(s)\nsteps: \(history.description)\n\(Integration.RolloutEndToEnd.logExcerpt(proxy))")
                #expect(answers == ["v1"], "no client saw the canary: \(answers)")
                #expect(history.steps.allSatisfy { $0.weight <= 0 }, "the weight never left 0: \(history.description)")
                #expect(s.routeWeight == 0 && s.weight == 0 && !s.canaryLiveAtZero && s.iterations < 5, "one switch, off: \(s)")
                Integration.RolloutEndToEnd.expectFailedBy(judges, s, proxy)
                #expect(canary.requestCount > 0, "the canary was judged on copies")

                // Copies in flight at the switch finish within the first batch after it; none is sent after.
                for i in 0..<20 { #expect(try client.get("/late/\(i)").text == "v1") }
                let copiesAtRest = canary.requestCount
                let metricsAtRest = try proxy.metrics()
                for i in 0..<20 { #expect(try client.get("/later/\(i)").text == "v1") }
                #expect(canary.requestCount == copiesAtRest, "copies after the rollback")
                #expect(Self.copiesSent(try proxy.metrics()) == Self.copiesSent(metricsAtRest), "mirror counters moved after the rollback")
            }
        }
    }
}
