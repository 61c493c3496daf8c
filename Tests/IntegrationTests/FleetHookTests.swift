// Fleet hooks exactly once: a promote hook cut short by the leader's kill -9 is re-sent with its key; a passed one is not.
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension Integration {
    @Suite("Fleet hooks", .serialized, .enabled(if: EtcdServer.isAvailable))
    struct FleetHooks {
        /// A deploy system as a webhook receiver should be: it acts on an idempotency key once, and answers a
        /// repeated key without acting again. `holding`: the first promote call gets no answer (its sender dies).
        final class DeduplicatingReceiver: @unchecked Sendable {
            let server: TestUpstream
            let holding = Guarded(true)
            /// The keys acted on, in order: one entry per effective execution.
            let executed = Guarded<[String]>([])

            init() throws {
                let holding = holding, executed = executed
                server = try TestUpstream(name: "deploy-system") { request in
                    guard request.path == "/promote" else { return .text("ok") }
                    let key = request.headers["idempotency-key"] ?? "none"
                    let isNew = executed.withValue { keys in
                        if keys.contains(key) { return false }
                        keys.append(key)
                        return true
                    }
                    return isNew && holding.value ? .hang(seconds: 20) : .text(isNew ? "deployed" : "already deployed")
                }
            }

            func url(_ path: String) -> String { "http://127.0.0.1:\(server.port)\(path)" }

            /// Every call's path and Idempotency-Key header.
            func keys(path: String) -> [String] {
                server.requests.filter { $0.path == path }.map { $0.headers["idempotency-key"] ?? "none" }
            }
        }

        @Test func aPromoteHookCutShortByAFailoverRunsOnceByItsKeyAndAPassedOneIsNotRerun() throws {
            // The primary runs v1 until the test says the deploy is done.
            let reported = Guarded("v1")
            let primary = try FleetRollouts.primary(reporting: reported)
            let canary = try TestUpstream.arm("canary", text: "v2")
            let receiver = try DeduplicatingReceiver()
            defer { primary.stop(); canary.stop(); receiver.server.stop() }
            var spec = FleetRollouts.healthySpec(primary: primary, canary: canary)
            var deploy = HookSpec.webhook("deploy", "promote", url: receiver.url("/promote"))
            deploy.timeout = "20s"
            spec.hooks = [deploy, .webhook("notify", "post-rollout", url: receiver.url("/post"))]
            let promoteKey = "web/v2/1/promote/deploy"
            try withFleet(spec, replicas: 3) { fleet in
                let (first, _) = try #require(fleet.waitForLeader(timeout: 5), "no leader\n\(fleet.logTails())")
                try withFleetLoad(fleet) { _ in
                    let (promoting, met) = try first.proxy.waitForRollout(timeout: 15) { $0.phase == "Promoting" || $0.phase == "Failed" }
                    #expect(met && promoting.phase == "Promoting", "never promoted: \(promoting)\n\(fleet.logTails())")
                }
                #expect(Posix.waitUntil(timeout: 5) { !receiver.keys(path: "/promote").isEmpty }, "the promote hook was not called")
                let stored = fleet.storedRollout()
                #expect(stored?["rolloutNumber"] as? Int == 1 && stored?["phase"] as? String == "Promoting", "stored: \(stored ?? [:])")

                // 1. The leader dies while its promote call waits: the next leader calls again with the same key.
                var killedAt = Date()
                #expect(first.kill9() == 128 + SIGKILL)
                receiver.holding.withValue { $0 = false }
                let (second, secondAfter) = try #require(
                    fleet.waitForLeader(timeout: 6, since: killedAt, excluding: [first.name]), "no new leader\n\(fleet.logTails())")
                print("fleet failover during the promote hook: \(second.name) leads \(String(format: "%.2f", secondAfter)) s after kill -9")
                #expect(secondAfter < 5, "failover took \(secondAfter) s")
                let (passed, met) = fleet.waitUntilAll(timeout: 10) {
                    $0.phase == "Promoting" && $0.rollout.message.contains("promote hook passed")
                }
                #expect(met, "after the first failover: \(passed)\n\(fleet.logTails())")
                let calls = receiver.keys(path: "/promote")
                #expect(calls == [promoteKey, promoteKey], "promote calls (Idempotency-Key each): \(calls)")
                #expect(receiver.executed.value == [promoteKey], "effective executions: \(receiver.executed.value)")

                // 2. The next leader dies after the hook passed (waiting for the primary): it is not called again.
                killedAt = Date()
                #expect(second.kill9() == 128 + SIGKILL)
                let (third, thirdAfter) = try #require(
                    fleet.waitForLeader(timeout: 6, since: killedAt, excluding: [first.name, second.name]),
                    "no third leader\n\(fleet.logTails())")
                print("fleet failover after the promote hook: \(third.name) leads \(String(format: "%.2f", thirdAfter)) s after kill -9")
                #expect(thirdAfter < 5, "failover took \(thirdAfter) s")
                let resumed = try third.status()
                #expect(resumed.phase == "Promoting", "the last replica took over at \(resumed)")
                reported.withValue { $0 = "v2" }
                let (done, finished) = try third.proxy.waitForRollout(timeout: 10) { $0.phase == "Succeeded" || $0.phase == "Failed" }
                #expect(finished && done.phase == "Succeeded", "after the primary reported v2: \(done)\n\(fleet.logTails())")
                #expect(Posix.waitUntil(timeout: 5) { !receiver.keys(path: "/post").isEmpty }, "no post-rollout call")
                #expect(receiver.keys(path: "/promote").count == 2, "the passed promote hook ran again: \(receiver.keys(path: "/promote"))")
                #expect(
                    receiver.keys(path: "/post") == ["web/v2/1/post-rollout/notify"], "post-rollout calls: \(receiver.keys(path: "/post"))")
            }
        }
    }
}
