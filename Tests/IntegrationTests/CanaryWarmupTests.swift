// A canary step opens the canary's pool ahead of its traffic: connections idle and waiting before the first request.
import Foundation
import Testing

extension Integration {
    @Suite("Canary pool warm-up") struct CanaryWarmup {
        /// No traffic at all: after the first step (25%) the canary upstream holds an open connection from the
        /// proxy's loop that no request has used yet; the first canary requests then arrive on it, not on new ones.
        @Test func theFirstStepOpensTheCanarysPoolBeforeItsFirstRequest() throws {
            let primary = try TestUpstream(name: "primary", text: "v1")
            let canary = try TestUpstream(name: "canary", text: "v2")
            defer { primary.stop(); canary.stop() }
            var spec = RolloutSpec(primary: primary, canary: canary)
            spec.interval = "5s"  // the first step lasts long enough to look at it
            spec.successRateMin = nil
            spec.durationMax = nil
            try withRolloutProxy(spec) { proxy in
                let (s, met) = try proxy.waitForRollout(timeout: 5) { $0.phase == "Progressing" && $0.routeWeight == 25 }
                #expect(met, "first step: \(s)")
                // The readiness probe's connection closes at once; the warmed one stays open, idle.
                let deadline = Date().addingTimeInterval(2)
                while canary.openConnections < 1 && Date() < deadline { usleep(10_000) }
                #expect(canary.openConnections >= 1, "an idle connection to the canary, opened at the step")
                #expect(canary.requestCount == 0, "no request has reached the canary yet")
                let warmed = canary.connectionCount

                let client = try RawClient(port: proxy.port)
                var toCanary = 0
                for _ in 0..<40 where toCanary < 3 {
                    if try client.get("/").text == "v2" { toCanary += 1 }
                }
                #expect(toCanary >= 1, "some of 40 requests at 25% reached the canary")
                #expect(
                    canary.distinctConnections == 1 && canary.connectionCount == warmed,
                    "the canary's requests came on the warmed connection: \(canary.distinctConnections) connection(s), \(canary.connectionCount - warmed) opened after the step"
                )
            }
        }
    }
}
