// The admin page in headless Chromium: loads without an error, follows a rollout live, shows verbs to operators only,
// and its screenshot shows the charts (written to docs/images/dashboard.png with CANARYGATE_UPDATE_SCREENSHOTS=1).
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension Integration {
    @Suite("Admin page in Chromium", .enabled(if: FileManager.default.isExecutableFile(atPath: HeadlessBrowser.chromium)))
    struct DashboardBrowser {
        static let weight = "document.querySelector('[data-route=\"web\"] [data-field=weight]').textContent"
        static let phase = "document.querySelector('[data-route=\"web\"] [data-field=phase]').textContent"

        /// A rollout that steps every `interval`, so the page has something to follow.
        static func steppingRollout(primary: TestUpstream, canary: TestUpstream, stepWeight: Int, interval: String) -> RolloutSpec {
            var spec = RolloutSpec(primary: primary, canary: canary)
            spec.interval = interval
            spec.stepWeight = stepWeight
            spec.maxWeight = 80
            spec.successRateMin = 95
            spec.progressDeadline = "60s"
            spec.ignoreLoopbackLatencyJitter()
            return spec
        }

        @Test func thePageLoadsWithoutAnErrorAndFollowsTheRolloutLive() throws {
            let primary = try TestUpstream.arm("primary", text: "v1")
            let canary = try TestUpstream.arm("canary", text: "v2")
            defer { primary.stop(); canary.stop() }
            // Steps of 10 every 2 s, held until the page is live: however late Chromium starts, it sees two steps more.
            try withRolloutProxy(Self.steppingRollout(primary: primary, canary: canary, stepWeight: 10, interval: "2s")) { proxy in
                try hold(proxy)
                let report = try withLoad(proxy.port, maxSeconds: 90) { _ in
                    try HeadlessBrowser.run([
                        ["navigate": "http://127.0.0.1:\(proxy.adminPort)/"],
                        ["wait": "document.getElementById('live').textContent === 'live'", "timeout": 30],
                        ["eval": "window.__sameDocument = true; window.__firstWeight = Number(\(Self.weight))", "as": "firstWeight"],
                        Self.resume,
                        [
                            "watch": Self.weight, "until": "Number(\(Self.weight)) >= window.__firstWeight + 20", "timeout": 45,
                            "as": "weights",
                        ],
                        ["wait": "document.querySelectorAll('[data-route=\"web\"] svg.chart path.line').length >= 4", "timeout": 10],
                        ["eval": "window.__sameDocument === true", "as": "sameDocument"],
                        ["eval": "document.querySelectorAll('[data-route=\"web\"] svg.chart').length", "as": "charts"],
                        ["eval": "document.querySelectorAll('#events tr td.sev').length", "as": "events"],
                        ["eval": "document.querySelectorAll('button[data-verb]').length", "as": "buttons"],
                    ])
                }
                #expect(report.failed == nil && report.errors.isEmpty && report.cspViolations.isEmpty, "\(report.problems)")
                #expect(report.results["resumed"] as? Int == 200, "\(report.results)")
                let weights = (report.results["weights"] as? [String] ?? []).compactMap { Int($0) }
                #expect(
                    weights.count >= 3 && weights == weights.sorted() && weights.last! >= weights.first! + 20, "weights shown: \(weights)")
                #expect(report.results["sameDocument"] as? Bool == true, "the page was reloaded")
                #expect(report.results["charts"] as? Int ?? 0 >= 5, "\(report.results)")
                #expect(report.results["events"] as? Int ?? 0 > 0, "\(report.results)")
                // No operator token (loopback): whoever may see the page may act.
                #expect(report.results["buttons"] as? Int ?? 0 > 0, "\(report.results)")
            }
        }

        @Test func verbButtonsAreForOperatorsOnly() throws {
            let primary = try TestUpstream.arm("primary", text: "v1")
            let canary = try TestUpstream.arm("canary", text: "v2")
            defer { primary.stop(); canary.stop() }
            var spec = RolloutSpec(primary: primary, canary: canary)
            spec.interval = "30s"  // the rollout waits at its first step while the page is used
            try withRolloutProxy(spec) { proxy in
                try installTokens(proxy)
                let buttons = "document.querySelectorAll('button[data-verb]').length"
                let asReader = try HeadlessBrowser.run(
                    HeadlessBrowser.login(adminPort: proxy.adminPort, token: AdminTestTokens.readerToken) + [
                        ["wait": "document.getElementById('live').textContent === 'live'", "timeout": 10],
                        ["eval": "document.body.dataset.role", "as": "role"],
                        ["eval": buttons, "as": "buttons"],
                        [
                            "eval":
                                "fetch('/routes/web/pause', {method: 'POST', headers: {'X-Canarygate-Request': '1'}}).then(r => r.status)",
                            "as": "post",
                        ],
                    ])
                // The refused POST is logged by the browser as a failed resource: the one error expected here.
                let readerErrors = asReader.errors.filter { !$0.contains("403") }
                #expect(asReader.failed == nil && readerErrors.isEmpty && asReader.cspViolations.isEmpty, "\(asReader.problems)")
                #expect(asReader.results["role"] as? String == "reader" && asReader.results["buttons"] as? Int == 0, "\(asReader.results)")
                #expect(asReader.results["post"] as? Int == 403, "\(asReader.results)")

                let asOperator = try HeadlessBrowser.run(
                    HeadlessBrowser.login(adminPort: proxy.adminPort, token: AdminTestTokens.operatorToken) + [
                        ["wait": "document.querySelector('button[data-verb=\"pause\"]') !== null", "timeout": 15],
                        ["eval": "document.body.dataset.role", "as": "role"],
                        ["eval": buttons, "as": "buttons"],
                        ["eval": "document.querySelector('button[data-verb=\"pause\"]').click(); true", "as": "clicked"],
                        ["wait": "\(Self.phase).includes('paused')", "timeout": 10],
                        ["eval": "document.getElementById('notice').textContent", "as": "notice"],
                    ])
                #expect(asOperator.failed == nil && asOperator.errors.isEmpty && asOperator.cspViolations.isEmpty, "\(asOperator.problems)")
                #expect(asOperator.results["role"] as? String == "operator" && asOperator.results["buttons"] as? Int ?? 0 > 0)
                #expect((asOperator.results["notice"] as? String)?.contains("200") == true, "\(asOperator.results)")
            }
        }

        /// After a promotion the page shows the rollback window and offers undo; undo (confirmed) is shown done.
        @Test func afterAPromotionThePageOffersUndoAndShowsItsResult() throws {
            let old = try TestUpstream.arm("old", text: "v1")
            let new = try TestUpstream.arm("new", text: "v2")
            defer { old.stop(); new.stop() }
            var spec = RolloutSpec(primary: old, canary: new)
            spec.extraAnalysis = ["rollbackWindow: 60s"]
            try withRolloutProxy(spec) { proxy in
                try Undo.promoteByReload(proxy, &spec, to: new)
                let hooks = "document.querySelector('[data-route=\"web\"] .part-hooks').textContent"
                let report = try HeadlessBrowser.run([
                    ["navigate": "http://127.0.0.1:\(proxy.adminPort)/"],
                    ["wait": "document.querySelector('button[data-verb=\"undo\"]') !== null", "timeout": 10],
                    ["eval": hooks, "as": "afterPromotion"],
                    // Undo asks for a confirmation first; the test answers yes.
                    [
                        "eval": "window.confirm = () => true; document.querySelector('button[data-verb=\"undo\"]').click(); true",
                        "as": "clicked",
                    ],
                    ["wait": "\(Self.phase).startsWith('Failed') && \(hooks).includes('last undo')", "timeout": 10],
                    ["eval": hooks, "as": "afterUndo"],
                    ["eval": "document.querySelectorAll('button[data-verb=\"undo\"]').length", "as": "undoButtons"],
                ])
                #expect(report.failed == nil && report.errors.isEmpty && report.cspViolations.isEmpty, "\(report.problems)")
                let before = report.results["afterPromotion"] as? String ?? ""
                #expect(before.contains("after promotion") && before.contains("v2 replaced v1"), "\(before)")
                let after = report.results["afterUndo"] as? String ?? ""
                #expect(after.contains("last undo") && after.contains("v2 → v1"), "\(after)")
                #expect(report.results["undoButtons"] as? Int == 0, "undo is offered once only")
            }
        }

        @Test func theScreenshotShowsTheCharts() throws {
            let primary = try TestUpstream.arm("primary", text: "v1", failPercent: 1)
            let canary = try TestUpstream.arm("canary", text: "v2", failPercent: 2, delay: 0.002)
            defer { primary.stop(); canary.stop() }
            let update = ProcessInfo.processInfo.environment["CANARYGATE_UPDATE_SCREENSHOTS"] == "1"
            let dir = try TempDir.make()
            defer { dir.remove() }
            let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent()
            let path =
                update
                ? packageRoot.appendingPathComponent("docs/images/dashboard.png").path
                : dir.url.appendingPathComponent("dashboard.png").path
            // Steps of 10 every 2 s, held until the page is live: the screenshot is taken mid-rollout (before the
            // promotion at 80), with a dozen seconds of samples behind it.
            try withRolloutProxy(Self.steppingRollout(primary: primary, canary: canary, stepWeight: 10, interval: "2s")) { proxy in
                try hold(proxy)
                let report = try withLoad(proxy.port, maxSeconds: 90) { _ in
                    try HeadlessBrowser.run([
                        ["navigate": "http://127.0.0.1:\(proxy.adminPort)/"],
                        ["wait": "document.getElementById('live').textContent === 'live'", "timeout": 30],
                        Self.resume,
                        ["wait": "Number(\(Self.weight)) >= 50", "timeout": 45],
                        ["wait": "document.querySelectorAll('[data-route=\"web\"] .part-charts rect').length > 20", "timeout": 20],
                        ["screenshot": path],
                    ])
                }
                #expect(report.failed == nil && report.errors.isEmpty && report.cspViolations.isEmpty, "\(report.problems)")
                #expect(report.results["resumed"] as? Int == 200, "\(report.results)")
                let shot = try #require(report.screenshot, "no screenshot: \(report.problems)")
                #expect(shot["width"] == 1400 && shot["height"] == 1000, "\(shot)")
                // A blank or one-colour page compresses to a few KB and has a handful of colours; the charts give more.
                #expect(shot["bytes"] ?? 0 > 40_000 && shot["distinctColours"] ?? 0 > 25, "\(shot)")
                #expect(FileManager.default.fileExists(atPath: path))
            }
        }

        /// Pauses the rollout (as soon as it accepts the verb), so that the page's window on its steps does not
        /// depend on how fast Chromium starts; `resume` lets it go on once the page is live.
        private func hold(_ proxy: RolloutProxy) throws {
            var answer: ClientResponse?
            let paused = Posix.waitUntil(timeout: 10) {
                answer = try? proxy.adminPost("/routes/web/pause")
                return answer?.status == 200
            }
            try #require(paused, "pause: \(answer.map { "\($0.status) \($0.text)" } ?? "no answer")")
        }

        /// The page's own POST (same origin, with its header), as its resume button sends it.
        static var resume: [String: Any] {
            [
                "eval": "fetch('/routes/web/resume', {method: 'POST', headers: {'X-Canarygate-Request': '1'}}).then(r => r.status)",
                "as": "resumed",
            ]
        }

        private func installTokens(_ proxy: RolloutProxy) throws {
            try AdminTestTokens.install(dir: proxy.dir, configFile: proxy.configFile, adminPort: proxy.adminPort) {
                try proxy.adminPost("/reload")
            }
        }
    }
}
