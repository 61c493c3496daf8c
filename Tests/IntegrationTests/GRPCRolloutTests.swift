// A gRPC canary whose calls fail with grpc-status 14 while every HTTP status is 200 is rolled back: the judges see grpc-status.
import Foundation
import Testing

extension Integration {
    @Suite("gRPC rollouts")
    struct GRPCRolloutTests {
        @Test func aCanaryFailingGRPCCallsBehindHTTP200IsRolledBack() throws {
            let primary = try H2UpstreamProcess(name: "v1")
            defer { primary.stop() }
            let canary = try H2UpstreamProcess(name: "v2", grpcFailPercent: 30)
            defer { canary.stop() }
            var p = ArmSpec("v1", [primary.endpoint])
            p.upstreamProtocol = "h2"
            var c = ArmSpec("v2", [canary.endpoint])
            c.upstreamProtocol = "h2"
            let dir = try TempDir.make()
            defer { dir.remove() }
            let message = try dir.write("message", "\u{0}\u{0}\u{0}\u{0}\u{5}hello")
            try withRolloutProxy(RolloutSpec(primary: p, canary: c)) { proxy in
                // Unary calls over h2c until the rollout ends (h2load's own bound: 20 s).
                let load = try ChildProcess(
                    path: H2Tools.h2load,
                    arguments: [
                        "-c", "2", "-m", "4", "-D", "20", "-d", message.path, "-H", "content-type: application/grpc", "-H", "te: trailers",
                        "http://127.0.0.1:\(proxy.port)/grpc/pkg.Service/Call",
                    ], stdoutPath: dir.url.appendingPathComponent("h2load").path)
                defer { load.terminate(grace: 0) }
                let history = RolloutHistory()
                let s = try proxy.waitForRollout(timeout: 15, history: history) { ["Failed", "Promoted", "Succeeded"].contains($0.phase) }
                    .status
                #expect(s.phase == "Failed", "30% of the canary's calls fail: \(s)\nsteps: \(history.description)")
                let metrics = try proxy.metrics()
                let canaryLabels = ["route": "web", "arm": "canary"]
                #expect(
                    (metrics.value("canarygate_upstream_failures_total", canaryLabels.merging(["source": "grpc_error"]) { $1 }) ?? 0) > 0)
                #expect(metrics.sum("canarygate_requests_total", canaryLabels.merging(["code": "200"]) { $1 }) > 0)
                let serverErrors = metrics.samples("canarygate_requests_total").filter { $0.labels["code"]?.hasPrefix("5") == true }
                #expect(serverErrors.isEmpty, "every response was HTTP 200; the failures are in grpc-status: \(serverErrors)")
                #expect(
                    (metrics.value("canarygate_upstream_failures_total", ["route": "web", "arm": "primary", "source": "grpc_error"]) ?? 0)
                        == 0)
            }
        }
    }
}
