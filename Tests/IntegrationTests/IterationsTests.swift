// Iterations end to end: an A/B cohort and a blue/green canary at weight 0, then one switch; /status's progress and step-down.
import Foundation
import Testing

extension Integration {
    @Suite("Iterations: A/B and blue/green")
    struct Iterations {
        /// Sends `count` requests on `client`, with `headers`, and returns the bodies.
        private static func bodies(_ client: RawClient, _ count: Int, headers: [HTTPField] = []) throws -> [String] {
            try (0..<count).map { try client.get("/req/\($0)", headers: headers).text }
        }

        /// The A/B cohort's requests: `abSpec`'s canary `match` selects exactly these.
        private static let insider = [HTTPField("X-Canary", "insider")]

        /// An A/B route: `iterations`, with the canary matched for the cohort (`insider`).
        private static func abSpec(primary: TestUpstream, canary: TestUpstream, iterations: Int) -> RolloutSpec {
            var spec = RolloutSpec(primary: primary, canary: canary)
            spec.iterations = iterations
            spec.cohort = "[ { headers: { x-canary: { exact: insider } } } ]"
            return spec
        }

        @Test func anABCohortReachesTheCanaryAtWeightZeroUntilPromotion() throws {
            let primary = try TestUpstream.arm("primary", text: "v1")
            let canary = try TestUpstream.arm("canary", text: "v2")
            defer { primary.stop(); canary.stop() }
            var spec = Self.abSpec(primary: primary, canary: canary, iterations: 3)
            spec.ignoreLoopbackLatencyJitter()
            try withRolloutProxy(spec) { proxy in
                let client = try RawClient(port: proxy.port)
                let seen = try proxy.sendBatchesUntilDone {
                    (insiders: try Self.bodies(client, 10, headers: Self.insider), others: try Self.bodies(client, 10))
                } whileProgressing: { s, answers in
                    // The whole batch ran during the iterations: weight 0, the canary live for its cohort only.
                    #expect(s.weight == 0 && s.routeWeight == 0 && s.canaryLiveAtZero && s.iterationsOf == 3, "\(s)")
                    #expect(answers.insiders.allSatisfy { $0 == "v2" }, "cohort answered by \(answers.insiders)")
                    #expect(answers.others.allSatisfy { $0 == "v1" }, "others answered by \(answers.others)")
                }
                let s = seen.status, done = seen.iterationsSeen
                #expect(s.phase == "Promoted", "\(s)\n\(Integration.RolloutEndToEnd.logExcerpt(proxy))")
                #expect(s.routeWeight == 100 && s.weight == 100 && !s.canaryLiveAtZero, "\(s)")
                #expect(s.iterations == 3 && s.iterationsOf == 3, "\(s)")
                #expect(seen.duringIterations >= 3, "batches seen during the iterations: \(seen.duringIterations)")
                #expect(done.contains(1) && done.contains(2) && done == done.sorted(), "iterations seen: \(done)")
                #expect(try Self.bodies(client, 10).allSatisfy { $0 == "v2" }, "after the switch everyone reaches the canary")
            }
        }

        @Test func aFailingABCanaryIsRolledBackAndItsCohortReturnsToThePrimary() throws {
            let primary = try TestUpstream.arm("primary", text: "v1")
            let canary = try TestUpstream.arm("canary", text: "v2", failPercent: 100)
            defer { primary.stop(); canary.stop() }
            let spec = Self.abSpec(primary: primary, canary: canary, iterations: 5)
            try withRolloutProxy(spec) { proxy in
                let client = try RawClient(port: proxy.port)
                let deadline = Date().addingTimeInterval(15)
                var s = try proxy.rollout()
                var failedAnswersSeen = 0
                while s.phase != "Failed", Date() < deadline {
                    failedAnswersSeen += try Self.bodies(client, 5, headers: Self.insider).filter { $0 == "v2 failed" }.count
                    s = try proxy.rollout()
                }
                #expect(s.phase == "Failed" && s.routeWeight == 0 && !s.canaryLiveAtZero, "\(s)")
                #expect(failedAnswersSeen > 0, "the cohort reached the failing canary before the rollback")
                #expect(try Self.bodies(client, 10, headers: Self.insider).allSatisfy { $0 == "v1" }, "the cohort is back on the primary")
            }
        }

        @Test func aRestartMidIterationsKeepsTheCohortOnTheCanary() throws {
            let primary = try TestUpstream.arm("primary", text: "v1")
            let canary = try TestUpstream.arm("canary", text: "v2")
            defer { primary.stop(); canary.stop() }
            let dir = try TempDir.make()
            var spec = Self.abSpec(primary: primary, canary: canary, iterations: 100)  // far from done when the proxy is killed
            spec.statePath = dir.url.appendingPathComponent("state.json").path
            spec.ignoreLoopbackLatencyJitter()
            try withRolloutProxy(spec, dir: dir) { proxy in
                let (before, after) = try proxy.restartWhileHeldLive()
                let client = try RawClient(port: proxy.port)
                #expect(try Self.bodies(client, 5, headers: Self.insider).allSatisfy { $0 == "v2" }, "the cohort reaches the canary")
                #expect(try Self.bodies(client, 5).allSatisfy { $0 == "v1" }, "everyone else the primary")
                #expect(after.iterations >= before.iterations && after.iterationsOf == 100, "\(before) → \(after)")
            }
        }

        @Test func aBlueGreenCanaryGetsNothingDuringItsIterationsThenEverything() throws {
            let primary = try TestUpstream.arm("primary", text: "v1")
            let canary = try TestUpstream.arm("canary", text: "v2")
            defer { primary.stop(); canary.stop() }
            var spec = RolloutSpec(primary: primary, canary: canary)
            spec.iterations = 3
            // No mirror and no cohort: the canary gets no traffic, so its iterations pass on the rollout hook.
            spec.hooks = [.exec("load-test", "rollout", ["true"])]
            try withRolloutProxy(spec) { proxy in
                let client = try RawClient(port: proxy.port)
                let seen = try proxy.sendBatchesUntilDone {
                    try Self.bodies(client, 20)
                } whileProgressing: { s, answers in
                    #expect(s.routeWeight == 0 && s.canaryLiveAtZero, "\(s)")
                    #expect(answers.allSatisfy { $0 == "v1" }, "answered by \(answers)")
                    #expect(canary.requestCount == 0, "no request reaches the canary before the switch")
                }
                let s = seen.status
                #expect(s.phase == "Promoted", "\(s)\n\(Integration.RolloutEndToEnd.logExcerpt(proxy))")
                #expect(seen.duringIterations >= 3, "batches seen during the iterations: \(seen.duringIterations)")
                #expect(s.routeWeight == 100 && s.iterations == 3 && !s.canaryLiveAtZero, "\(s)")
                #expect(
                    s.events.contains { $0.contains("iteration 1/3 passed on the rollout hooks") },
                    "events: \(s.events)")
                #expect(try Self.bodies(client, 20).allSatisfy { $0 == "v2" }, "one switch: all traffic on the canary")
            }
        }

        @Test func statusShowsTheStepDownWhileARollbackStepsTheWeightDown() throws {
            try Integration.GradualRollback.withAFailingCanarySteppedDown { proxy in
                try withLoad(proxy.port) { _ in
                    let (down, met) = try proxy.waitForRollout(timeout: 15) { $0.stepDown != nil || $0.phase == "Failed" }
                    #expect(met && down.stepDown != nil, "no step-down seen: \(down)")
                    if let step = down.stepDown {
                        #expect(down.phase == "Progressing" && step.weight == down.weight && step.weight < 50, "\(down)")
                        #expect(step.reason.contains("failed checks 1/1") && step.reason.contains("request-duration"), "\(down)")
                    }
                    #expect(down.iterationsOf == nil, "a stepped route has no iterations to count: \(down)")
                    let (end, ended) = try proxy.waitForRollout(timeout: 15) { $0.phase == "Failed" }
                    #expect(ended && end.stepDown == nil && end.weight == 0, "\(end)")
                }
            }
        }
    }
}
