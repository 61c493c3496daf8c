// Canary rollouts end to end over real sockets: the binary's control thread steps, judges, rolls back and promotes
// a managed route while keep-alive clients send traffic through it (the end-to-end check of a rollout).
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension Integration {
    @Suite("Rollouts end to end")
    struct RolloutEndToEnd {
        typealias Step = RolloutHistory.Step

        static func step(_ phase: String, _ weight: Int) -> Step { Step(phase: phase, weight: weight) }

        /// Log lines a failing assertion should show: the rollout's own lines and every warning or error.
        static func logExcerpt(_ proxy: RolloutProxy) -> String {
            let lines = proxy.log.split(separator: "\n").map(String.init)
                .filter { $0.contains("rollout") || $0.contains("error") || $0.contains("warning") }
            return lines.suffix(30).joined(separator: "\n")
        }

        /// A steady route after a rollout: the rollout's weight and the live one are 0.
        static func expectAllTrafficOnPrimary(_ s: RolloutStatus, _ proxy: RolloutProxy, sourceLocation: SourceLocation = #_sourceLocation)
        {
            #expect(
                s.weight == 0 && s.routeWeight == 0, "weights after the rollout: \(s)\n\(logExcerpt(proxy))",
                sourceLocation: sourceLocation)
        }

        /// The canary gets no new request for `seconds` (after a moment for the requests in flight).
        static func expectCanaryIdle(_ canary: TestUpstream, for seconds: Double, sourceLocation: SourceLocation = #_sourceLocation) {
            usleep(150_000)
            let before = canary.requestCount
            usleep(UInt32(seconds * 1_000_000))
            #expect(
                canary.requestCount == before, "the canary got \(canary.requestCount - before) requests at weight 0",
                sourceLocation: sourceLocation)
        }

        // MARK: 1. Healthy canary

        @Test func healthyCanaryIsPromotedThroughItsStepsAndCompletedByTheReload() throws {
            let primary = try TestUpstream.arm("primary", text: "v1")
            let canary = try TestUpstream.arm("canary", text: "v2")
            defer { primary.stop(); canary.stop() }
            var spec = RolloutSpec(primary: primary, canary: canary)
            try withRolloutProxy(spec) { proxy in
                let history = RolloutHistory()
                let start = try proxy.rollout()
                #expect(start.hasRollout && start.canaryRevision == "v2" && start.primaryRevision == "v1", "at start: \(start)")

                try withLoad(proxy.port) { load in
                    let (s, met) = try proxy.waitForRollout(timeout: 15, history: history) { ["Promoted", "Failed"].contains($0.phase) }
                    #expect(met && s.phase == "Promoted", "healthy canary: \(s)\nsteps: \(history.description)\n\(Self.logExcerpt(proxy))")
                    #expect(s.weight == 100 && s.routeWeight == 100, "Promoted: \(s)")
                    #expect(
                        history.contains(inOrder: [Self.step("Progressing", 25), Self.step("Progressing", 50), Self.step("Promoted", 100)]),
                        "steps: \(history.description)")
                    #expect(!history.steps.contains { $0.phase == "Failed" }, "steps: \(history.description)")
                    #expect(
                        history.steps.allSatisfy { [0, 25, 50, 100].contains($0.weight) },
                        "a weight off the schedule: \(history.description)")

                    // At 100% every new request goes to the canary.
                    usleep(200_000)
                    let primaryBefore = primary.requestCount, canaryBefore = canary.requestCount
                    usleep(400_000)
                    #expect(
                        primary.requestCount == primaryBefore,
                        "the primary got \(primary.requestCount - primaryBefore) requests at canary weight 100")
                    #expect(
                        canary.requestCount > canaryBefore + 10,
                        "the canary got \(canary.requestCount - canaryBefore) requests at weight 100")
                    #expect(
                        load.count(body: "v2") > 0 && load.count(status: 500) == 0 && load.count(status: 502) == 0,
                        "load: \(load.statusCounts), errors \(load.errorSamples.prefix(3))")
                }

                // The user's deploy: the primary now runs v2 (here: the canary's upstream under revision v2).
                spec.primary = ArmSpec("v2", canary)
                let reload = try proxy.reload(spec)
                #expect(reload.status == 200, "reload: \(reload.status) \(reload.text)")
                let (done, met) = try proxy.waitForRollout(timeout: 5, history: history) { $0.phase == "Succeeded" }
                #expect(met, "after the reload making the primary v2: \(done)\nsteps: \(history.description)\n\(Self.logExcerpt(proxy))")
                Self.expectAllTrafficOnPrimary(done, proxy)
                #expect(done.lastAnalysedRevision == "v2" && done.primaryRevision == "v2", "Succeeded: \(done)")
                #expect(history.steps.suffix(2).map(\.phase).contains("Succeeded"), "steps: \(history.description)")

                let metrics = try proxy.metrics()
                #expect(
                    metrics.value("canarygate_rollouts_total", ["route": "web", "result": "succeeded"]) == 1,
                    "\(metrics.samples("canarygate_rollouts_total"))")
                #expect(metrics.value("canarygate_rollouts_total", ["route": "web", "result": "failed"]) == 0)
                #expect(metrics.value("canarygate_rollout_phase", ["route": "web", "phase": "Succeeded"]) == 1)

                // The same revision again starts nothing.
                let again = try proxy.reload(spec)
                #expect(again.status == 200, "second reload: \(again.status) \(again.text)")
                try withLoad(proxy.port, clients: 2) { _ in
                    usleep(1_000_000)  // > 3 intervals
                    let after = try proxy.rollout()
                    #expect(
                        after.phase == "Succeeded" && after.weight == 0 && after.routeWeight == 0,
                        "the same revision restarted something: \(after)\n\(Self.logExcerpt(proxy))")
                    #expect(
                        after.message == done.message && after.events == done.events,
                        "new rollout events after reloading the same revision: \(after.events.suffix(3))")
                }
                #expect(history.steps.last?.phase == "Succeeded")
            }
        }

        // MARK: 2–4. Bad canaries are rolled back

        /// Runs load until the rollout ends; returns the final status and the seconds from the first
        /// `Progressing` seen to `Failed`.
        static func rolloutUntilEnd(_ proxy: RolloutProxy, timeout: Double = 15) throws -> (RolloutStatus, Double?, RolloutHistory) {
            let history = RolloutHistory()
            let s = try withLoad(proxy.port) { _ in
                try proxy.waitForRollout(timeout: timeout, history: history) { ["Failed", "Promoted", "Succeeded"].contains($0.phase) }
                    .status
            }
            var seconds: Double?
            if let progressing = history.firstSeen({ $0.phase == "Progressing" }), let failed = history.firstSeen({ $0.phase == "Failed" })
            {
                seconds = failed.timeIntervalSince(progressing)
            }
            return (s, seconds, history)
        }

        /// The message names a judge whose last verdict failed, and that judge is one of `judges`.
        static func expectFailedBy(
            _ judges: [String], _ s: RolloutStatus, _ proxy: RolloutProxy,
            sourceLocation: SourceLocation = #_sourceLocation
        ) {
            let failing = s.failedVerdicts.map(\.judge)
            #expect(!failing.isEmpty, "no failing verdict in /status: \(s)", sourceLocation: sourceLocation)
            #expect(
                failing.contains { s.message.contains($0) }, "the message names none of the failing judges \(failing): \(s.message)",
                sourceLocation: sourceLocation)
            #expect(
                failing.contains { judges.contains($0) },
                "failing judges \(failing), expected one of \(judges): \(s)\n\(logExcerpt(proxy))",
                sourceLocation: sourceLocation)
        }

        @Test func canaryFailing30PercentIsRolledBackWithinAFewIntervals() throws {
            let primary = try TestUpstream.arm("primary", text: "v1")
            let canary = try TestUpstream.arm("canary", text: "v2", failPercent: 30)
            defer { primary.stop(); canary.stop() }
            let spec = RolloutSpec(primary: primary, canary: canary)
            try withRolloutProxy(spec) { proxy in
                let (s, seconds, history) = try Self.rolloutUntilEnd(proxy)
                #expect(s.phase == "Failed", "30% failing canary: \(s)\nsteps: \(history.description)\n\(Self.logExcerpt(proxy))")
                Self.expectAllTrafficOnPrimary(s, proxy)
                #expect(s.lastAnalysedRevision == "v2" && s.message.contains("rolled back"), "\(s)")
                // threshold 2 at 300 ms: two failed intervals take 0.6 s; "a few intervals" is ≤ 8.
                #expect(
                    seconds.map { $0 < 2.4 } == true,
                    "Progressing → Failed took \(seconds.map { String(format: "%.2f s", $0) } ?? "?"); steps \(history.description)")
                #expect(!history.steps.contains { $0.phase == "Promoted" || $0.weight > 50 }, "steps: \(history.description)")
                Self.expectFailedBy(["request-success-rate", "comparison-errors", "sequential"], s, proxy)

                let metrics = try proxy.metrics()
                #expect(
                    metrics.value("canarygate_rollouts_total", ["route": "web", "result": "failed"]) == 1,
                    "\(metrics.samples("canarygate_rollouts_total"))")
                #expect(metrics.value("canarygate_rollouts_total", ["route": "web", "result": "succeeded"]) == 0)
                #expect(metrics.value("canarygate_canary_weight", ["route": "web"]) == 0)
                #expect(metrics.value("canarygate_rollout_phase", ["route": "web", "phase": "Failed"]) == 1)

                withLoad(proxy.port, clients: 2) { _ in Self.expectCanaryIdle(canary, for: 0.5) }
            }
        }

        @Test func slowCanaryIsRolledBackByTheComparisonWithThePrimary() throws {
            // p99 ≈ 50 ms vs ≈ 1 ms: 50× the primary, far under the 500 ms Flagger threshold.
            let primary = try TestUpstream.arm("primary", text: "v1")
            let canary = try TestUpstream.arm("canary", text: "v2", delay: 0.05)
            defer { primary.stop(); canary.stop() }
            let spec = RolloutSpec(primary: primary, canary: canary)
            try withRolloutProxy(spec) { proxy in
                let (s, seconds, history) = try Self.rolloutUntilEnd(proxy)
                #expect(s.phase == "Failed", "slow canary: \(s)\nsteps: \(history.description)\n\(Self.logExcerpt(proxy))")
                Self.expectAllTrafficOnPrimary(s, proxy)
                #expect(seconds.map { $0 < 3 } == true, "Progressing → Failed took \(seconds ?? -1) s; steps \(history.description)")
                #expect(!history.steps.contains { $0.phase == "Promoted" }, "steps: \(history.description)")
                Self.expectFailedBy(["comparison-latency", "sequential"], s, proxy)
                #expect(
                    !s.failedVerdicts.contains { $0.judge == "request-success-rate" || $0.judge == "comparison-errors" },
                    "a slow canary failed on errors: \(s)")
            }
        }

        @Test func slowCanaryIsRolledBackByTheFlaggerDurationThreshold() throws {
            let primary = try TestUpstream.arm("primary", text: "v1")
            let canary = try TestUpstream.arm("canary", text: "v2", delay: 0.05)
            defer { primary.stop(); canary.stop() }
            var spec = RolloutSpec(primary: primary, canary: canary)
            spec.durationMax = 20
            spec.extraAnalysis = ["comparison: { enabled: false }", "sequential: { enabled: false }"]
            try withRolloutProxy(spec) { proxy in
                let (s, seconds, history) = try Self.rolloutUntilEnd(proxy)
                #expect(
                    s.phase == "Failed",
                    "slow canary, request-duration max 20: \(s)\nsteps: \(history.description)\n\(Self.logExcerpt(proxy))")
                Self.expectAllTrafficOnPrimary(s, proxy)
                #expect(seconds.map { $0 < 2.4 } == true, "Progressing → Failed took \(seconds ?? -1) s; steps \(history.description)")
                Self.expectFailedBy(["request-duration"], s, proxy)
                if let duration = s.verdicts.first(where: { $0.judge == "request-duration" }) {
                    #expect(
                        (duration.evidence["duration-ms"] ?? 0) >= 45 && duration.evidence["max"] == 20,
                        "request-duration evidence: \(duration.evidence)")
                }
            }
        }

        @Test func deadCanaryIsRolledBackWithinASecondNotAfterIntervals() throws {
            // Every canary request is answered with a reset (the proxy answers 502); the TCP readiness check passes.
            let primary = try TestUpstream.arm("primary", text: "v1")
            let canary = try TestUpstream(name: "canary") { _ in .reset }
            defer { primary.stop(); canary.stop() }
            var spec = RolloutSpec(primary: primary, canary: canary)
            spec.interval = "5s"  // two failed interval checks would take 10 s
            spec.progressDeadline = "30s"
            try withRolloutProxy(spec) { proxy in
                let (s, seconds, history) = try Self.rolloutUntilEnd(proxy, timeout: 8)
                #expect(s.phase == "Failed", "dead canary: \(s)\nsteps: \(history.description)\n\(Self.logExcerpt(proxy))")
                Self.expectAllTrafficOnPrimary(s, proxy)
                #expect(seconds.map { $0 < 2 } == true, "Progressing → Failed took \(seconds ?? -1) s; steps \(history.description)")
                #expect(s.failedChecks == 0, "rolled back by interval checks, not the immediate guard: \(s)")
                Self.expectFailedBy(["dead-canary", "sequential"], s, proxy)
            }
        }

        @Test func canaryThatGoesAwayMidRolloutIsRolledBackWithinASecond() throws {
            let primary = try TestUpstream.arm("primary", text: "v1")
            let canary = try TestUpstream.arm("canary", text: "v2")
            defer { primary.stop(); canary.stop() }
            var spec = RolloutSpec(primary: primary, canary: canary)
            spec.interval = "5s"
            spec.progressDeadline = "30s"
            try withRolloutProxy(spec) { proxy in
                let history = RolloutHistory()
                try withLoad(proxy.port) { _ in
                    let (p, met) = try proxy.waitForRollout(timeout: 5, history: history) { $0.phase == "Progressing" && $0.weight == 25 }
                    #expect(met, "never reached Progressing@25: \(p)")
                    usleep(300_000)
                    canary.stop()  // connections refused from now on
                    let stopped = Date()
                    let (s, ended) = try proxy.waitForRollout(timeout: 6, history: history) { $0.phase == "Failed" }
                    let took = Date().timeIntervalSince(stopped)
                    #expect(ended, "unreachable canary: \(s)\nsteps: \(history.description)\n\(Self.logExcerpt(proxy))")
                    #expect(took < 2, "rolled back \(String(format: "%.2f", took)) s after the canary went away; \(s)")
                    Self.expectAllTrafficOnPrimary(s, proxy)
                    Self.expectFailedBy(["dead-canary", "sequential"], s, proxy)
                }
            }
        }

        // MARK: 5. kill -9 and restart

        @Test func killedMidRolloutResumesAtTheSamePhaseAndWeightAndContinues() throws {
            let primary = try TestUpstream.arm("primary", text: "v1")
            let canary = try TestUpstream.arm("canary", text: "v2")
            defer { primary.stop(); canary.stop() }
            let dir = try TempDir.make()
            let stateFile = dir.url.appendingPathComponent("state.json")
            var spec = RolloutSpec(primary: primary, canary: canary)
            spec.interval = "2s"  // it stays at 25% long enough to be killed there
            spec.ignoreLoopbackLatencyJitter()
            spec.statePath = stateFile.path
            try withRolloutProxy(spec, dir: dir) { proxy in
                let history = RolloutHistory()
                let (before, met) = try withLoad(proxy.port) { _ in
                    try proxy.waitForRollout(timeout: 5, history: history) { $0.phase == "Progressing" && $0.weight == 25 }
                }
                #expect(met, "never reached Progressing@25: \(before)\n\(Self.logExcerpt(proxy))")
                let persisted = (try? String(contentsOf: stateFile, encoding: .utf8)) ?? ""
                #expect(persisted.contains("Progressing"), "state file at Progressing@25: \(persisted.prefix(500))")

                let oldPID = proxy.pid
                let status = proxy.kill9()
                #expect(status == 128 + SIGKILL, "exit status after SIGKILL: \(status.map(String.init) ?? "still running")")
                #expect(kill(oldPID, 0) != 0, "the killed proxy (pid \(oldPID)) still exists")

                try proxy.restart()
                let after = try proxy.rollout()
                #expect(
                    after.phase == "Progressing" && after.weight == 25 && after.routeWeight == 25,
                    "right after the restart: \(after)\n\(Self.logExcerpt(proxy))")
                #expect(after.canaryRevision == "v2" && after.primaryRevision == "v1", "after the restart: \(after)")
                #expect(
                    !proxy.logLines(containing: "restored rollout state").isEmpty, "no restore line in the log:\n\(Self.logExcerpt(proxy))")

                try withLoad(proxy.port) { load in
                    let canaryBefore = canary.requestCount
                    let (end, done) = try proxy.waitForRollout(timeout: 12, history: history) { ["Promoted", "Failed"].contains($0.phase) }
                    #expect(
                        done && end.phase == "Promoted" && end.weight == 100,
                        "after the restart the rollout did not go on to Promoted: \(end)\nsteps: \(history.description)\n\(Self.logExcerpt(proxy))"
                    )
                    #expect(
                        history.contains(inOrder: [Self.step("Progressing", 25), Self.step("Progressing", 50), Self.step("Promoted", 100)]),
                        "steps across the restart: \(history.description)")
                    #expect(canary.requestCount > canaryBefore, "the canary got no traffic after the restart")
                    #expect(load.count(status: 502) == 0 && load.count(status: 503) == 0, "load after the restart: \(load.statusCounts)")
                    #expect(end.events.contains { $0.contains("resumed after a restart") }, "events: \(end.events)")
                }
            }
        }

        // MARK: 6. Hooks

        @Test func webhooksGetTheirPayloadsAndConfirmPromotionHoldsTheRollout() throws {
            let primary = try TestUpstream.arm("primary", text: "v1")
            let canary = try TestUpstream.arm("canary", text: "v2")
            let hooks = try WebhookReceiver()
            defer { primary.stop(); canary.stop(); hooks.stop() }
            hooks.answer("/gate", with: 500)
            var spec = RolloutSpec(primary: primary, canary: canary)
            spec.ignoreLoopbackLatencyJitter()
            spec.hooks = [
                .webhook("smoke", "pre-rollout", url: hooks.url("/pre")),
                .webhook("load-test", "rollout", url: hooks.url("/rollout"), metadata: ["cmd": "hey -z 1m", "team": "web"]),
                .webhook("gate", "confirm-promotion", url: hooks.url("/gate")),
                .webhook("deploy", "promote", url: hooks.url("/promote")),
                .webhook("notify", "post-rollout", url: hooks.url("/post")),
            ]
            try withRolloutProxy(spec) { proxy in
                let history = RolloutHistory()
                try withLoad(proxy.port) { _ in
                    let (held, met) = try proxy.waitForRollout(timeout: 10, history: history) {
                        $0.phase == "WaitingPromotion" || $0.phase == "Failed"
                    }
                    #expect(
                        met && held.phase == "WaitingPromotion" && held.weight == 50,
                        "with the gate closed: \(held)\nsteps: \(history.description)\n\(Self.logExcerpt(proxy))")
                    // Held across several intervals while the gate answers 500; it is re-asked meanwhile.
                    let gateCalls = hooks.calls(type: "confirm-promotion").count
                    let deadline = Date().addingTimeInterval(1.5)
                    while Date() < deadline {
                        let s = try proxy.rollout()
                        history.note(s)
                        #expect(s.phase == "WaitingPromotion" && s.weight == 50, "the closed gate did not hold: \(s)")
                        if s.phase != "WaitingPromotion" { break }
                        usleep(50_000)
                    }
                    #expect(
                        hooks.calls(type: "confirm-promotion").count >= gateCalls + 2,
                        "confirm-promotion asked \(hooks.calls(type: "confirm-promotion").count - gateCalls) times in 1.5 s")
                    #expect(hooks.calls(type: "promote").isEmpty, "promote hook called while the gate was closed")

                    hooks.answer("/gate", with: 200)
                    let (promoting, opened) = try proxy.waitForRollout(timeout: 5, history: history) {
                        $0.phase == "Promoting" && !hooks.calls(type: "promote").isEmpty
                    }
                    #expect(opened, "after the gate opened: \(promoting)\nsteps: \(history.description)\n\(Self.logExcerpt(proxy))")
                }
                // The promote hook "deployed" v2 as the primary: the config says so now.
                spec.primary = ArmSpec("v2", canary)
                let reload = try proxy.reload(spec)
                #expect(reload.status == 200, "reload: \(reload.status) \(reload.text)")
                let (done, met) = try proxy.waitForRollout(timeout: 5, history: history) { $0.phase == "Succeeded" || $0.phase == "Failed" }
                #expect(
                    met && done.phase == "Succeeded", "after the reload: \(done)\nsteps: \(history.description)\n\(Self.logExcerpt(proxy))")
                Self.expectAllTrafficOnPrimary(done, proxy)
                #expect(Posix.waitUntil(timeout: 2) { !hooks.calls(type: "post-rollout").isEmpty }, "no post-rollout call")

                let calls = hooks.received
                let summary = calls.map(\.description).joined(separator: "\n")
                #expect(
                    hooks.server.requests.allSatisfy { $0.method == "POST" && $0.headers["content-type"]?.contains("json") == true },
                    "webhook requests: \(hooks.server.requests.map { "\($0.method) \($0.target) \($0.headers)" }.prefix(3))")
                #expect(calls.allSatisfy { $0.route == "web" && $0.revision == "v2" }, "route/revision in payloads:\n\(summary)")
                let byPath = [
                    "/pre": "pre-rollout", "/rollout": "rollout", "/gate": "confirm-promotion", "/promote": "promote",
                    "/post": "post-rollout",
                ]
                #expect(calls.allSatisfy { byPath[$0.path] == $0.type }, "types by URL:\n\(summary)")

                let pre = hooks.calls(type: "pre-rollout")
                #expect(
                    pre.count == 1 && pre.first?.name == "smoke" && pre.first?.weight == 0 && pre.first?.phase == "Initialized",
                    "pre-rollout calls: \(pre)")
                let rollout = hooks.calls(type: "rollout")
                #expect(rollout.count >= 4, "rollout hook calls (one per interval): \(rollout.count)\n\(summary)")
                #expect(Set(rollout.map(\.weight)) == [25, 50], "rollout hook weights: \(rollout.map(\.weight))")
                #expect(rollout.map(\.weight) == rollout.map(\.weight).sorted(), "rollout weights out of order: \(rollout.map(\.weight))")
                #expect(
                    rollout.allSatisfy { ["Progressing", "WaitingPromotion"].contains($0.phase) && $0.name == "load-test" },
                    "rollout hook phases: \(rollout.map(\.phase))")
                #expect(
                    rollout.allSatisfy { $0.metadata == ["cmd": "hey -z 1m", "team": "web"] }, "metadata: \(rollout.first?.metadata ?? [:])"
                )
                if let firstRollout = calls.firstIndex(where: { $0.type == "rollout" }),
                    let firstPre = calls.firstIndex(where: { $0.type == "pre-rollout" })
                {
                    #expect(firstPre < firstRollout, "pre-rollout came after a rollout call:\n\(summary)")
                }
                let gate = hooks.calls(type: "confirm-promotion")
                #expect(gate.count >= 3 && gate.allSatisfy { $0.weight == 50 }, "confirm-promotion calls: \(gate)")
                let promote = hooks.calls(type: "promote")
                #expect(
                    promote.count >= 1 && promote.allSatisfy { $0.weight == 50 && $0.phase == "Promoting" && $0.name == "deploy" },
                    "promote calls: \(promote)")
                let post = hooks.calls(type: "post-rollout")
                #expect(
                    post.count == 1 && post.first?.weight == 0 && post.first?.phase == "Finalising" && post.first?.name == "notify",
                    "post-rollout calls: \(post)")
                if let lastPromote = calls.lastIndex(where: { $0.type == "promote" }),
                    let firstPost = calls.firstIndex(where: { $0.type == "post-rollout" })
                {
                    #expect(lastPromote < firstPost, "order:\n\(summary)")
                }
            }
        }

        @Test func rollbackHooksRunOnRollbackAndSeeTheRevision() throws {
            let primary = try TestUpstream.arm("primary", text: "v1")
            let canary = try TestUpstream.arm("canary", text: "v2", failPercent: 100)
            let hooks = try WebhookReceiver()
            defer { primary.stop(); canary.stop(); hooks.stop() }
            let dir = try TempDir.make()
            let out = dir.url.appendingPathComponent("rollback.out")
            var spec = RolloutSpec(primary: primary, canary: canary)
            spec.hooks = [
                .exec(
                    "record", "rollback",
                    [
                        "sh", "-c",
                        "echo \"$CANARYGATE_REVISION $CANARYGATE_HOOK_TYPE $CANARYGATE_ROUTE $CANARYGATE_PHASE $CANARYGATE_WEIGHT\" > '\(out.path)'",
                    ]),
                .webhook("page", "rollback", url: hooks.url("/rollback")),
            ]
            try withRolloutProxy(spec, dir: dir) { proxy in
                let (s, _, history) = try Self.rolloutUntilEnd(proxy)
                #expect(s.phase == "Failed", "failing canary: \(s)\nsteps: \(history.description)\n\(Self.logExcerpt(proxy))")
                #expect(
                    Posix.waitUntil(timeout: 3) { ((try? String(contentsOf: out, encoding: .utf8)) ?? "").contains("\n") },
                    "the exec rollback hook wrote nothing to \(out.path)\n\(Self.logExcerpt(proxy))")
                let written = ((try? String(contentsOf: out, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
                #expect(written == "v2 rollback web Failed 0", "the rollback hook saw: \(written.debugDescription)")
                #expect(Posix.waitUntil(timeout: 3) { !hooks.calls(type: "rollback").isEmpty }, "no rollback webhook call")
                let calls = hooks.received
                #expect(
                    calls.count == 1 && calls.first?.type == "rollback" && calls.first?.revision == "v2" && calls.first?.weight == 0
                        && calls.first?.name == "page", "rollback webhook calls: \(calls)")
            }
        }

        // MARK: 7. Manual verbs

        @Test func pauseResumeAbortRetryAndForcedPromotion() throws {
            let primary = try TestUpstream.arm("primary", text: "v1")
            let canary = try TestUpstream.arm("canary", text: "v2")
            defer { primary.stop(); canary.stop() }
            var spec = RolloutSpec(primary: primary, canary: canary)
            spec.maxWeight = 75  // 25, 50, 75: room to act between steps
            spec.ignoreLoopbackLatencyJitter()
            spec.interval = "400ms"
            try withRolloutProxy(spec) { proxy in
                let history = RolloutHistory()
                try withLoad(proxy.port) { _ in
                    var (s, met) = try proxy.waitForRollout(timeout: 5, history: history) { $0.phase == "Progressing" && $0.weight == 25 }
                    #expect(met, "never reached Progressing@25: \(s)")

                    let pause = try proxy.verb("pause")
                    #expect(pause.status == 200, "pause: \(pause.status) \(pause.text)")
                    s = try proxy.rollout()
                    #expect(s.paused && s.phase == "Progressing" && s.weight == 25, "after pause: \(s)")
                    let paused = Date()
                    while Date().timeIntervalSince(paused) < 1.6 {  // four intervals
                        s = try proxy.rollout()
                        history.note(s)
                        if !(s.paused && s.phase == "Progressing" && s.weight == 25 && s.routeWeight == 25) { break }
                        usleep(50_000)
                    }
                    #expect(s.paused && s.phase == "Progressing" && s.weight == 25 && s.routeWeight == 25, "while paused: \(s)")
                    let again = try proxy.verb("pause")
                    #expect(again.status == 409 && again.text.contains("paused"), "pause twice: \(again.status) \(again.text)")

                    let resume = try proxy.verb("resume")
                    #expect(resume.status == 200, "resume: \(resume.status) \(resume.text)")
                    (s, met) = try proxy.waitForRollout(timeout: 3, history: history) { $0.weight >= 50 || $0.phase == "Failed" }
                    #expect(met && !s.paused && s.phase == "Progressing" && s.weight == 50, "after resume: \(s)")
                    let resumeAgain = try proxy.verb("resume")
                    #expect(resumeAgain.status == 409, "resume while running: \(resumeAgain.status) \(resumeAgain.text)")

                    let abort = try proxy.verb("abort")
                    #expect(abort.status == 200, "abort: \(abort.status) \(abort.text)")
                    (s, met) = try proxy.waitForRollout(timeout: 1, history: history) { $0.phase == "Failed" }
                    #expect(met && s.message.contains("abort"), "after abort: \(s)")
                    Self.expectAllTrafficOnPrimary(s, proxy)
                    for verb in ["abort", "promote", "pause", "resume"] {
                        let refused = try proxy.verb(verb)
                        #expect(refused.status == 409 && !refused.text.isEmpty, "\(verb) in Failed: \(refused.status) \(refused.text)")
                    }

                    let retry = try proxy.verb("retry")
                    #expect(retry.status == 200, "retry: \(retry.status) \(retry.text)")
                    s = try proxy.rollout()
                    #expect(
                        ["Initializing", "Initialized", "Progressing"].contains(s.phase) && s.canaryRevision == "v2",
                        "right after retry: \(s)")
                    (s, met) = try proxy.waitForRollout(timeout: 3, history: history) { $0.phase == "Progressing" && $0.weight == 25 }
                    #expect(met && s.failedChecks == 0, "after retry: \(s)")

                    let force = try proxy.verb("promote?force=true")
                    #expect(force.status == 200, "promote --force: \(force.status) \(force.text)")
                    (s, met) = try proxy.waitForRollout(timeout: 1, history: history) { $0.phase == "Promoted" }
                    #expect(met && s.weight == 100 && s.routeWeight == 100, "after promote --force: \(s)")
                    #expect(!history.steps.contains { $0.weight == 75 }, "promote --force went through the steps: \(history.description)")
                }
                let unknownRoute = try proxy.verb("pause", route: "nope")
                #expect(unknownRoute.status == 409, "pause of an unknown route: \(unknownRoute.status) \(unknownRoute.text)")
                let unknownVerb = try proxy.verb("rewind")
                #expect(unknownVerb.status == 404, "unknown verb: \(unknownVerb.status) \(unknownVerb.text)")
                #expect(
                    history.contains(inOrder: [
                        Self.step("Progressing", 25), Self.step("Progressing", 50), Self.step("Failed", 0),
                        Self.step("Progressing", 25), Self.step("Promoted", 100),
                    ]),
                    "steps: \(history.description)")
            }
        }

        @Test func promoteSkipsStepsButNotTheGateAndForceSkipsTheGate() throws {
            let primary = try TestUpstream.arm("primary", text: "v1")
            let canary = try TestUpstream.arm("canary", text: "v2")
            let hooks = try WebhookReceiver()
            defer { primary.stop(); canary.stop(); hooks.stop() }
            hooks.answer("/gate", with: 500)
            var spec = RolloutSpec(primary: primary, canary: canary)
            spec.interval = "1s"
            spec.ignoreLoopbackLatencyJitter()
            spec.stepWeight = 10
            spec.maxWeight = 50
            spec.hooks = [.webhook("gate", "confirm-promotion", url: hooks.url("/gate"))]
            try withRolloutProxy(spec) { proxy in
                let history = RolloutHistory()
                try withLoad(proxy.port) { _ in
                    var (s, met) = try proxy.waitForRollout(timeout: 5, history: history) { $0.phase == "Progressing" && $0.weight == 10 }
                    #expect(met, "never reached Progressing@10: \(s)")
                    let promote = try proxy.verb("promote")
                    #expect(promote.status == 200, "promote: \(promote.status) \(promote.text)")
                    (s, met) = try proxy.waitForRollout(timeout: 2, history: history) { $0.phase == "WaitingPromotion" }
                    #expect(met && s.weight == 10, "promote without force must stop at the closed gate: \(s)\n\(Self.logExcerpt(proxy))")
                    #expect(
                        !history.steps.contains { $0.weight > 10 && $0.weight < 100 }, "promote went through steps: \(history.description)")

                    let force = try proxy.verb("promote?force=true")
                    #expect(force.status == 200, "promote --force: \(force.status) \(force.text)")
                    (s, met) = try proxy.waitForRollout(timeout: 1, history: history) { $0.phase == "Promoted" }
                    #expect(met && s.weight == 100, "promote --force past the closed gate: \(s)")
                }
            }
        }
    }
}
