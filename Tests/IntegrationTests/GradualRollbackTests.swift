// Gradual rollback end to end: a canary failing its threshold checks is stepped down by stepWeightRollback, then Failed.
import Foundation
import Testing

extension Integration {
    @Suite("Gradual rollback end to end")
    struct GradualRollback {
        @Test func failedChecksStepTheCanaryDownBeforeFailed() throws {
            // p99 ≈ 50 ms against a 20 ms request-duration limit: every interval at 50% fails its check.
            let primary = try TestUpstream.arm("primary", text: "v1")
            let canary = try TestUpstream.arm("canary", text: "v2", delay: 0.05)
            defer { primary.stop(); canary.stop() }
            var spec = RolloutSpec(primary: primary, canary: canary)
            spec.interval = "500ms"
            spec.threshold = 1
            spec.stepWeight = 50
            spec.durationMax = 20
            spec.extraAnalysis = ["comparison: { enabled: false }", "sequential: { enabled: false }", "stepWeightRollback: 20"]
            try withRolloutProxy(spec) { proxy in
                let (s, _, history) = try Integration.RolloutEndToEnd.rolloutUntilEnd(proxy)
                let steps: [RolloutHistory.Step] = [
                    .init(phase: "Progressing", weight: 50), .init(phase: "Progressing", weight: 30),
                    .init(phase: "Progressing", weight: 10), .init(phase: "Failed", weight: 0),
                ]
                #expect(history.contains(inOrder: steps), "steps: \(history.description)")
                #expect(s.phase == "Failed" && s.weight == 0 && s.routeWeight == 0, "\(s)")
                #expect(s.message.contains("weight stepped down gradually"), "\(s.message)")
                Integration.RolloutEndToEnd.expectFailedBy(["request-duration"], s, proxy)
            }
        }
    }
}
