// /status and /metrics show the rollout's evidence by outcome class and the α budget, over real sockets.
import Foundation
import Testing

extension Integration {
    @Suite("Evidence in /status and /metrics") struct EvidenceStatus {
        /// A canary answering 404 to one request in four: its 4xx evidence grows in /status and /metrics until
        /// the rollout is rolled back, with the α shares and the comparison's unspent α shown beside it.
        @Test func fourxxEvidenceAndTheAlphaBudgetAreShown() throws {
            let primary = try TestUpstream.arm("primary", text: "v1")
            let counter = Guarded(0)
            let canary = try TestUpstream(name: "canary") { _ in
                let k = counter.withValue {
                    $0 += 1; return $0
                }
                return .respond(.text(k % 4 == 0 ? "v2 not found" : "v2", status: k % 4 == 0 ? 404 : 200))
            }
            defer { primary.stop(); canary.stop() }
            var spec = RolloutSpec(primary: primary, canary: canary)
            spec.interval = "1s"
            spec.successRateMin = nil
            spec.durationMax = nil
            // As users get it: no step without evidence. (Without the gate, this fast load finishes the two
            // steps in 3 s, before the sequential judge's one-second episodes add up: 2 episodes, 10^0.19.)
            spec.requireEvidence = true
            try withRolloutProxy(spec) { proxy in
                try withLoad(proxy.port) { _ in
                    // Sample /status while the evidence grows; the rollback (by the 4xx class) ends the wait.
                    var seen4xx = 0.0
                    let (s, met) = try proxy.waitForRollout(timeout: 15) { s in
                        if let json = try? proxy.statusJSON(), let e = Self.evidence(json),
                            let classes = e["classes"] as? [String: [String: Any]], let c = classes["4xx"]?["canary"] as? Double
                        {
                            seen4xx = max(seen4xx, c)
                        }
                        return s.phase == "Failed"
                    }
                    #expect(met && s.message.contains("led by 4xx"), "rolled back by the 4xx class: \(s)")
                    #expect(seen4xx > 0, "4xx events counted in /status while the rollout ran")

                    let json = try proxy.statusJSON()
                    let evidence = try #require(Self.evidence(json), "routes[0].evidence in /status: \(json)")
                    #expect(evidence["revision"] as? String == "v2")
                    #expect(evidence["alpha"] as? Double == 0.01)
                    #expect(evidence["eValueThreshold"] as? Double == 100)
                    #expect(evidence["failed"] as? Bool == true)
                    #expect((evidence["eValue"] as? Double ?? 0) >= 100, "e-value at rollback: \(evidence)")
                    let classes = try #require(evidence["classes"] as? [String: [String: Any]])
                    #expect(Set(classes.keys) == ["5xx", "4xx", "abort", "slow"])
                    let alphas = classes.values.compactMap { $0["alpha"] as? Double }
                    #expect(abs(alphas.reduce(0, +) - 0.01) < 1e-12, "the classes' α shares add up to α: \(alphas)")
                    #expect(
                        (classes["4xx"]?["canary"] as? Double ?? 0) > 0 && (classes["4xx"]?["primary"] as? Double) == 0,
                        "4xx class: \(classes["4xx"] ?? [:])")
                    let remaining = try #require(evidence["comparisonAlphaRemaining"] as? Double)
                    #expect(remaining > 0 && remaining <= 0.01, "comparison α not yet spent: \(remaining)")

                    let metrics = try proxy.metrics()
                    let fourxx = try #require(metrics.value("canarygate_judge_log10_e_value", ["route": "web", "class": "4xx"]))
                    #expect(fourxx >= 2 - log10(0.2) - 0.01, "4xx evidence at 1/(α·0.2): \(fourxx)")
                    #expect(metrics.value("canarygate_judge_alpha", ["route": "web", "judge": "sequential", "class": "all"]) == 0.01)
                    #expect(metrics.value("canarygate_judge_alpha", ["route": "web", "judge": "sequential", "class": "4xx"]) == 0.002)
                    #expect(metrics.types["canarygate_judge_log10_e_value"] == "gauge")
                    let checked = try ChildProcess.run("/usr/bin/promtool", ["check", "metrics"], stdin: metrics.text)
                    #expect(
                        checked.status == 0 && (checked.stdout + checked.stderr).trimmingCharacters(in: .whitespacesAndNewlines).isEmpty,
                        "promtool check metrics with a rollout's evidence: \(checked.stdout)\(checked.stderr)")
                }
            }
        }

        static func evidence(_ status: [String: Any]) -> [String: Any]? {
            ((status["routes"] as? [[String: Any]])?.first { $0["name"] as? String == "web" })?["evidence"] as? [String: Any]
        }
    }
}
