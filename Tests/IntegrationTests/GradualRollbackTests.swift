// Gradual rollback end to end: a canary failing its threshold checks is stepped down by stepWeightRollback, then Failed.
import Foundation
import Testing

extension Integration {
    @Suite("Gradual rollback end to end")
    struct GradualRollback {
        /// Runs `body` on a rollout whose canary fails its check in every interval: p99 ≈ 50 ms against a 20 ms
        /// request-duration limit, threshold 1, stepWeight 50 and stepWeightRollback 20, so each failed interval
        /// steps the weight down (50 → 30 → 10) until the rollout is Failed. Used by the Iterations suite too.
        static func withAFailingCanarySteppedDown<T>(_ body: (RolloutProxy) throws -> T) throws -> T {
            let primary = try TestUpstream.arm("primary", text: "v1")
            let canary = try TestUpstream.arm("canary", text: "v2", delay: 0.05)
            defer { primary.stop(); canary.stop() }
            var spec = RolloutSpec(primary: primary, canary: canary)
            spec.interval = "500ms"
            spec.threshold = 1
            spec.stepWeight = 50
            spec.durationMax = 20
            spec.extraAnalysis = ["comparison: { enabled: false }", "sequential: { enabled: false }", "stepWeightRollback: 20"]
            return try withRolloutProxy(spec, body)
        }

        @Test func failedChecksStepTheCanaryDownBeforeFailed() throws {
            try Self.withAFailingCanarySteppedDown { proxy in
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
