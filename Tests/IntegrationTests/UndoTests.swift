// Safety after promotion end to end: `canarygate undo` within rollbackWindow sends the primary traffic back at once.
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension Integration {
    @Suite("Undo after promotion")
    struct Undo {
        /// A rollout of v2 promoted by the reload that moves the primary to v2's upstream, as a user without a
        /// promote hook does; returns once the rollout is Succeeded.
        static func promoteByReload(_ proxy: RolloutProxy, _ spec: inout RolloutSpec, to upstream: TestUpstream) throws {
            try withLoad(proxy.port) { _ in
                let (s, met) = try proxy.waitForRollout(timeout: 15) { ["Promoted", "Failed"].contains($0.phase) }
                #expect(met && s.phase == "Promoted", "the rollout: \(s)\n\(proxy.log.suffix(2000))")
            }
            spec.primary = ArmSpec("v2", upstream)
            let reload = try proxy.reload(spec)
            #expect(reload.status == 200, "reload: \(reload.status) \(reload.text)")
            let (done, met) = try proxy.waitForRollout(timeout: 5) { $0.phase == "Succeeded" }
            #expect(met && done.primaryRevision == "v2", "after the reload: \(done)")
        }

        /// The body of one request through the proxy.
        static func body(_ port: UInt16) throws -> String {
            let client = try RawClient(port: port)
            defer { client.close() }
            return try client.get().text
        }

        static func rollout(_ proxy: RolloutProxy) throws -> [String: Any] {
            let routes = try proxy.statusJSON()["routes"] as? [[String: Any]] ?? []
            return routes.first?["rollout"] as? [String: Any] ?? [:]
        }

        @Test func undoInTheWindowSendsThePrimaryTrafficBackToThePreviousEndpoints() throws {
            let old = try TestUpstream.arm("old", text: "v1")
            let new = try TestUpstream.arm("new", text: "v2")
            defer { old.stop(); new.stop() }
            var spec = RolloutSpec(primary: old, canary: new)
            spec.extraAnalysis = ["rollbackWindow: 60s"]
            try withRolloutProxy(spec) { proxy in
                try Self.promoteByReload(proxy, &spec, to: new)
                #expect(try Self.body(proxy.port) == "v2")
                let window = try Self.rollout(proxy)["afterPromotion"] as? [String: Any]
                let remaining = (window?["rollbackWindowRemainingSeconds"] as? NSNumber)?.doubleValue ?? 0
                #expect(remaining > 50 && remaining <= 60, "the window in /status: \(String(describing: window))")

                let cli = try CanarygateBinary.run(["undo", "web", "--admin", "127.0.0.1:\(proxy.adminPort)"])
                #expect(cli.status == 0 && cli.stdout.contains("undo web: accepted"), "exit \(cli.status)\n\(cli.stdout)\(cli.stderr)")
                // At once: the loops install the new routes on their next wake-up, before any request of ours.
                let oldBefore = old.requestCount
                let bodies = try (0..<20).map { _ in try Self.body(proxy.port) }
                #expect(bodies.allSatisfy { $0 == "v1" }, "after the undo: \(bodies)")
                #expect(old.requestCount == oldBefore + 20)

                let r = try Self.rollout(proxy)
                #expect(r["phase"] as? String == "Failed" && (r["message"] as? String)?.hasPrefix("undone by operator") == true, "\(r)")
                let override = r["primaryOverride"] as? [String: Any]
                #expect(override?["revision"] as? String == "v1" && override?["endpoints"] as? [String] == [old.endpoint], "\(r)")
                #expect((r["lastUndo"] as? [String: Any])?["method"] as? String == "endpoints", "\(r)")

                // A reload that leaves the primary as it was keeps the undo; one that changes it ends it.
                #expect(try proxy.reload(spec).status == 200)
                #expect(try (0..<5).map { _ in try Self.body(proxy.port) } == Array(repeating: "v1", count: 5))
                spec.primary = ArmSpec("v1", old)
                spec.canary = ArmSpec("v2", new)
                #expect(try proxy.reload(spec).status == 200)
                let cleared = try Self.rollout(proxy)
                #expect(cleared["primaryOverride"] is NSNull, "\(cleared)")
                #expect(try Self.body(proxy.port) == "v1")
            }
        }

        @Test func undoAfterTheWindowIsRefusedWithTheReason() throws {
            let old = try TestUpstream.arm("old", text: "v1")
            let new = try TestUpstream.arm("new", text: "v2")
            defer { old.stop(); new.stop() }
            var spec = RolloutSpec(primary: old, canary: new)
            spec.extraAnalysis = ["rollbackWindow: 1s"]
            try withRolloutProxy(spec) { proxy in
                try Self.promoteByReload(proxy, &spec, to: new)
                let closed = Posix.waitUntil(timeout: 5) { (try? Self.rollout(proxy)["afterPromotion"] is NSNull) == true }
                let after = try Self.rollout(proxy)
                #expect(closed, "the window did not close: \(after)")
                let refused = try proxy.verb("undo")
                #expect(
                    refused.status == 409 && refused.text.contains("nothing to undo: no promotion succeeded within rollbackWindow"),
                    "\(refused.status) \(refused.text)")
                #expect(try Self.body(proxy.port) == "v2", "nothing changed")
                #expect(try Self.rollout(proxy)["phase"] as? String == "Succeeded")
            }
        }

        @Test func anUndoSurvivesKillNineAndARestart() throws {
            let old = try TestUpstream.arm("old", text: "v1")
            let new = try TestUpstream.arm("new", text: "v2")
            defer { old.stop(); new.stop() }
            let dir = try TempDir.make()
            var spec = RolloutSpec(primary: old, canary: new)
            spec.extraAnalysis = ["rollbackWindow: 60s"]
            spec.statePath = dir.url.appendingPathComponent("state.json").path
            try withRolloutProxy(spec, dir: dir) { proxy in
                try Self.promoteByReload(proxy, &spec, to: new)
                #expect(try proxy.verb("undo").status == 200)
                #expect(try Self.body(proxy.port) == "v1")
                #expect(proxy.kill9() == 128 + SIGKILL)
                try proxy.restart()
                // The config still names v2's upstream as the primary: the state file's override wins.
                let bodies = try (0..<10).map { _ in try Self.body(proxy.port) }
                #expect(bodies == Array(repeating: "v1", count: 10), "after the restart: \(bodies)\n\(proxy.log.suffix(1500))")
                let r = try Self.rollout(proxy)
                #expect((r["primaryOverride"] as? [String: Any])?["revision"] as? String == "v1", "\(r)")
                #expect(r["phase"] as? String == "Failed", "\(r)")
            }
        }

        @Test func aPrimaryThatDegradesDuringTheWatchIsUndoneAutomatically() throws {
            let broken = Guarded(false)
            let old = try TestUpstream.arm("old", text: "v1")
            let new = try TestUpstream(name: "new") { _ in broken.value ? .text("broken", status: 500) : .text("v2") }
            defer { old.stop(); new.stop() }
            var spec = RolloutSpec(primary: old, canary: new)
            spec.extraAnalysis = ["rollbackWindow: 60s", "watch: 30s"]
            try withRolloutProxy(spec) { proxy in
                try Self.promoteByReload(proxy, &spec, to: new)
                let watching = try Self.rollout(proxy)["afterPromotion"] as? [String: Any]
                #expect(((watching?["watchRemainingSeconds"] as? NSNumber)?.doubleValue ?? 0) > 20, "\(String(describing: watching))")
                try withLoad(proxy.port) { _ in
                    broken.withValue { $0 = true }
                    let (s, met) = try proxy.waitForRollout(timeout: 10) { $0.phase == "Failed" }
                    #expect(met && s.message.hasPrefix("undone by the watch"), "the watch: \(s)\n\(proxy.log.suffix(2000))")
                }
                #expect(try (0..<10).map { _ in try Self.body(proxy.port) } == Array(repeating: "v1", count: 10))
                let r = try Self.rollout(proxy)
                let reason = (r["lastUndo"] as? [String: Any])?["reason"] as? String ?? ""
                #expect(reason.contains("watch-"), "the failed watch judge is named: \(r)")
            }
        }

        @Test func undoInPlaceRunsTheRollbackHookWithThePreviousRevision() throws {
            let primary = try TestUpstream.arm("primary", text: "v1")
            let canary = try TestUpstream.arm("canary", text: "v2")
            defer { primary.stop(); canary.stop() }
            let dir = try TempDir.make()
            defer { dir.remove() }
            let marker = dir.url.appendingPathComponent("redeployed")
            var spec = RolloutSpec(primary: primary, canary: canary)
            spec.extraAnalysis = ["rollbackWindow: 60s"]
            // The promote hook "deploys" v2 onto the primary's endpoints: the undo cannot re-route, it redeploys.
            spec.hooks = [
                .exec("deploy", "promote", ["true"]),
                .exec("redeploy", "rollback", ["sh", "-c", "echo $CANARYGATE_PREVIOUS_REVISION $CANARYGATE_REVISION > '\(marker.path)'"]),
            ]
            try withRolloutProxy(spec) { proxy in
                let (s, met) = try withLoad(proxy.port) { _ in
                    try proxy.waitForRollout(timeout: 15) { ["Succeeded", "Failed"].contains($0.phase) && $0.primaryRevision == "v2" }
                }
                #expect(met && s.phase == "Succeeded", "the rollout: \(s)")
                #expect(try proxy.verb("undo").status == 200)
                let ran = Posix.waitUntil(timeout: 5) {
                    ((try? Self.rollout(proxy)["lastUndo"] as? [String: Any])?["hookResult"] as? String) == "passed"
                }
                let r = try Self.rollout(proxy)
                #expect(ran, "the rollback hook: \(r)")
                #expect((r["lastUndo"] as? [String: Any])?["method"] as? String == "rollback-hook", "\(r)")
                #expect(r["primaryOverride"] is NSNull, "the same endpoints: nothing to re-route")
                #expect(try String(contentsOf: marker, encoding: .utf8) == "v1 v2\n")
            }
        }

        @Test func aWatchGoesOnAfterKillNineWithItsBaseline() throws {
            let broken = Guarded(false)
            let old = try TestUpstream.arm("old", text: "v1")
            let new = try TestUpstream(name: "new") { _ in broken.value ? .text("broken", status: 500) : .text("v2") }
            defer { old.stop(); new.stop() }
            let dir = try TempDir.make()
            var spec = RolloutSpec(primary: old, canary: new)
            spec.extraAnalysis = ["rollbackWindow: 60s", "watch: 30s"]
            spec.statePath = dir.url.appendingPathComponent("state.json").path
            // Only the comparison with the baseline can see the failures: no thresholds on the new primary alone.
            spec.successRateMin = nil
            spec.durationMax = nil
            try withRolloutProxy(spec, dir: dir) { proxy in
                try Self.promoteByReload(proxy, &spec, to: new)
                #expect(proxy.kill9() == 128 + SIGKILL)
                try proxy.restart()
                try withLoad(proxy.port) { _ in
                    broken.withValue { $0 = true }
                    let (s, met) = try proxy.waitForRollout(timeout: 10) { $0.phase == "Failed" }
                    #expect(met && s.message.hasPrefix("undone by the watch"), "after the restart: \(s)\n\(proxy.log.suffix(2000))")
                }
                let reason = (try Self.rollout(proxy)["lastUndo"] as? [String: Any])?["reason"] as? String ?? ""
                #expect(reason.contains("watch-comparison-errors"), "\(reason)")
                #expect(try Self.body(proxy.port) == "v1")
            }
        }
    }
}
