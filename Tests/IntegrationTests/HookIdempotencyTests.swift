// Hooks' idempotency keys end to end: kill -9 during the promote hook re-runs it with the same key; a passed one is not re-run.
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension Integration {
    @Suite("Hook idempotency keys")
    struct HookIdempotency {
        /// A webhook call's key, from the header and from the JSON body (nil where missing).
        struct KeyedCall: CustomStringConvertible {
            var header: String?
            var field: String?
            var description: String { "header=\(header ?? "nil") field=\(field ?? "nil")" }
        }

        static func keyedCalls(_ hooks: TestUpstream, path: String) -> [KeyedCall] {
            hooks.requests.filter { $0.path == path }.map { request in
                let json = try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any]
                return KeyedCall(header: request.headers["idempotency-key"], field: json?["idempotencyKey"] as? String)
            }
        }

        @Test func aPromoteHookCutShortByKill9RunsAgainWithItsKeyAndAPassedOneDoesNot() throws {
            // The primary names its revision; it becomes v2 when the test says the deploy is done.
            let reported = Guarded("v1")
            let primary = try TestUpstream(name: "primary") { _ in
                .respond(.text("v1", headers: [HTTPField("X-Revision", reported.value)]))
            }
            let canary = try TestUpstream.arm("canary", text: "v2")
            // The first promote call never gets an answer: the proxy is killed while it waits.
            let promoteHangs = Guarded(true)
            let hooks = try TestUpstream(name: "webhooks") { request in
                request.path == "/promote" && promoteHangs.value ? .hang(seconds: 20) : .text("ok")
            }
            defer { primary.stop(); canary.stop(); hooks.stop() }
            let dir = try TempDir.make()
            let stateFile = dir.url.appendingPathComponent("state.json")
            var spec = RolloutSpec(primary: primary, canary: canary)
            spec.ignoreLoopbackLatencyJitter()
            spec.statePath = stateFile.path
            spec.extraAnalysis.append("readiness: { http: /healthz, revisionHeader: x-revision, interval: 100ms }")
            var deploy = HookSpec.webhook("deploy", "promote", url: "http://127.0.0.1:\(hooks.port)/promote")
            deploy.timeout = "20s"
            spec.hooks = [deploy, .webhook("notify", "post-rollout", url: "http://127.0.0.1:\(hooks.port)/post")]
            let promoteKey = "web/v2/1/promote/deploy"
            try withRolloutProxy(spec, dir: dir) { proxy in
                let (promoting, met) = try withLoad(proxy.port) { _ in
                    try proxy.waitForRollout(timeout: 15) { $0.phase == "Promoting" || $0.phase == "Failed" }
                }
                #expect(met && promoting.phase == "Promoting", "never promoted: \(promoting)\n\(proxy.log.suffix(2000))")
                #expect(
                    Posix.waitUntil(timeout: 5) { !Self.keyedCalls(hooks, path: "/promote").isEmpty }, "the promote hook was not called")
                let persisted = (try? String(contentsOf: stateFile, encoding: .utf8)) ?? ""
                #expect(persisted.contains("\"rolloutNumber\":1"), "state file: \(persisted.prefix(600))")

                // 1. Killed while the promote hook runs: the restarted proxy calls it again, with the same key.
                #expect(proxy.kill9() == 128 + SIGKILL)
                promoteHangs.withValue { $0 = false }
                try proxy.restart()
                let (waiting, passed) = try proxy.waitForRollout(timeout: 10) {
                    ($0.phase == "Promoting" && $0.message.contains("promote hook passed")) || $0.phase == "Failed"
                }
                #expect(passed && waiting.phase == "Promoting", "after the first restart: \(waiting)\n\(proxy.log.suffix(2000))")
                let calls = Self.keyedCalls(hooks, path: "/promote")
                #expect(calls.count == 2, "promote calls: \(calls)")
                #expect(calls.allSatisfy { $0.header == promoteKey && $0.field == promoteKey }, "promote keys: \(calls)")

                // 2. Killed after the promote hook passed (waiting for the primary): it is not called again.
                #expect(proxy.kill9() == 128 + SIGKILL)
                try proxy.restart()
                let resumed = try proxy.rollout()
                #expect(resumed.phase == "Promoting", "after the second restart: \(resumed)")
                reported.withValue { $0 = "v2" }
                let (done, finished) = try proxy.waitForRollout(timeout: 10) { $0.phase == "Succeeded" || $0.phase == "Failed" }
                #expect(finished && done.phase == "Succeeded", "after the primary reported v2: \(done)\n\(proxy.log.suffix(2000))")
                #expect(Posix.waitUntil(timeout: 5) { !Self.keyedCalls(hooks, path: "/post").isEmpty }, "no post-rollout call")
                #expect(Self.keyedCalls(hooks, path: "/promote").count == 2, "the passed promote hook ran again")
                let post = Self.keyedCalls(hooks, path: "/post")
                #expect(
                    post.count == 1 && post[0].header == "web/v2/1/post-rollout/notify" && post[0].field == post[0].header,
                    "post-rollout calls: \(post)")
            }
        }
    }
}
