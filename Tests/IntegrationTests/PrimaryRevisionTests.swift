// After the promote hook, the wait for the primary to report the new revision (readiness.revisionHeader), end to end.
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension Integration {
    @Suite("Primary revision after promote")
    struct PrimaryRevision {
        @Test func thePromotionWaitsUntilThePrimaryReportsTheNewRevision() throws {
            // The primary says which revision it runs; the promote hook "deploys" nothing until the test says so.
            let reported = Guarded("v1")
            let primary = try TestUpstream(name: "primary") { _ in
                var response = UpstreamResponse.text("primary", status: 200)
                response.headers.append(HTTPField("X-Revision", reported.value))
                return .respond(response)
            }
            let canary = try TestUpstream.arm("canary", text: "v2")
            defer { primary.stop(); canary.stop() }
            var spec = RolloutSpec(primary: primary, canary: canary)
            spec.extraAnalysis = ["readiness: { http: /healthz, revisionHeader: x-revision, interval: 100ms }"]
            spec.hooks = [.exec("deploy", "promote", ["true"])]
            try withRolloutProxy(spec) { proxy in
                try withLoad(proxy.port) { _ in
                    let (waiting, met) = try proxy.waitForRollout(timeout: 10) {
                        $0.phase == "Promoting" && $0.message.contains("promote hook passed")
                    }
                    #expect(met, "never waited for the primary: \(waiting)\n\(proxy.log.suffix(2000))")
                    // Ten more probes of the primary, each answered "v1": the rollout must still be waiting.
                    let probes = { primary.requests.filter { $0.target == "/healthz" }.count }
                    let before = probes()
                    #expect(Posix.waitUntil(timeout: 10) { probes() >= before + 10 }, "the primary was probed \(probes() - before) times")
                    let still = try proxy.rollout()
                    #expect(
                        still.phase == "Promoting" && still.weight == 50 && still.primaryRevision == "v1",
                        "moved on while the primary reported v1: \(still)")
                    reported.withValue { $0 = "v2" }
                    let (done, finished) = try proxy.waitForRollout(timeout: 10) { $0.phase == "Succeeded" }
                    #expect(finished && done.primaryRevision == "v2" && done.weight == 0, "after the primary reported v2: \(done)")
                }
            }
        }
    }
}
