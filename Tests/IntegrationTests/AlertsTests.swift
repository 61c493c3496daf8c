// Notifications end to end: a real proxy rolls a failing canary back and local receivers get each format, retried or hung.
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension Integration {
    @Suite("Alerts")
    struct Alerts {
        static func logExcerpt(_ proxy: RolloutProxy) -> String {
            proxy.log.split(separator: "\n").suffix(30).joined(separator: "\n")
        }

        /// What Slack shows of a text: its three escapes.
        static func slackEscaped(_ text: String) -> String {
            text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;")
        }

        /// `metadata.eventMessage` of Flagger-format messages.
        static func eventMessages(_ messages: [[String: Any]]) -> [String] {
            messages.map { ($0["metadata"] as? [String: Any])?["eventMessage"] as? String ?? "?" }
        }

        static func alert(_ name: String, _ type: String, _ url: String, _ severity: String, extra: String = "") -> String {
            "- { name: \(name), type: \(type), url: \"\(url)\", severity: \(severity)\(extra) }"
        }

        @Test func aRolledBackCanaryIsToldToEveryReceiverInItsFormatRetriedAndNotHeldUpByAHungOne() throws {
            let primary = try TestUpstream.arm("primary", text: "v1")
            let canary = try TestUpstream.arm("canary", text: "v2", failPercent: 100)
            let receiver = try AlertReceiver()
            defer { primary.stop(); canary.stop(); receiver.stop() }
            receiver.script("/flaky", [500, 500])
            receiver.hang("/hang")
            var spec = RolloutSpec(primary: primary, canary: canary)
            spec.alerts = [
                // First in the list: a receiver that never answers must not hold up the ones after it.
                Self.alert("hung", "webhook", receiver.url("/hang"), "error", extra: ", timeout: 20s, retries: 0"),
                Self.alert("slack", "slack", receiver.url("/slack"), "error"),
                Self.alert("teams", "msteams", receiver.url("/teams"), "error"),
                Self.alert("discord", "discord", receiver.url("/discord"), "error"),
                Self.alert("flagger", "webhook", receiver.url("/webhook"), "error"),
                Self.alert("steps", "webhook", receiver.url("/info"), "info"),
                Self.alert("warnings", "webhook", receiver.url("/warn"), "warn"),
                Self.alert("flaky", "webhook", receiver.url("/flaky"), "error"),
            ]
            try withRolloutProxy(spec) { proxy in
                let history = RolloutHistory()
                let (s, ended) = try withLoad(proxy.port) { _ in
                    try proxy.waitForRollout(timeout: 15, history: history) { $0.phase == "Failed" && $0.routeWeight == 0 }
                }
                try #require(ended, "not rolled back: \(s)\nsteps: \(history.description)\n\(Self.logExcerpt(proxy))")
                let rollback = s.message
                #expect(rollback.contains("rolled back v2"), "\(s)")

                // Each error receiver: exactly the rollback, in its format. Bounded waits; the hung one still hangs.
                for path in ["/slack", "/teams", "/discord", "/webhook"] {
                    #expect(
                        Posix.waitUntil(timeout: 5) { receiver.messages(path).count == 1 },
                        "\(path): \(receiver.messages(path).count) messages\n\(Self.logExcerpt(proxy))")
                }
                #expect(receiver.requests("/hang").count == 1, "the hung receiver was asked \(receiver.requests("/hang").count) times")
                let headline = "ERROR web v2: Failed at weight 0"

                let slack = try #require(receiver.messages("/slack").first)
                let attachment = (slack["attachments"] as? [[String: Any]])?.first
                #expect(slack["text"] as? String == headline, "\(slack)")
                #expect(
                    attachment?["color"] as? String == "#E01E5A" && attachment?["text"] as? String == Self.slackEscaped(rollback),
                    "\(slack)")
                let slackFields = (attachment?["fields"] as? [[String: Any]] ?? []).map { "\($0["title"] ?? "")=\($0["value"] ?? "")" }
                #expect(slackFields == ["Route=web", "Revision=v2", "Phase=Failed", "Weight=0%", "Severity=error"], "\(slackFields)")

                let teams = try #require(receiver.messages("/teams").first)
                let cardAttachment = (teams["attachments"] as? [[String: Any]])?.first
                let card = cardAttachment?["content"] as? [String: Any]
                let blocks = card?["body"] as? [[String: Any]] ?? []
                #expect(teams["type"] as? String == "message" && card?["type"] as? String == "AdaptiveCard", "\(teams)")
                #expect(cardAttachment?["contentType"] as? String == "application/vnd.microsoft.card.adaptive")
                #expect(blocks.count == 3, "\(teams)")
                #expect(blocks.first?["text"] as? String == headline && blocks.first?["color"] as? String == "Attention", "\(teams)")
                #expect(blocks.dropFirst().first?["text"] as? String == rollback && (blocks.last?["facts"] as? [[String: Any]])?.count == 5)

                let discord = try #require(receiver.messages("/discord").first)
                let embed = (discord["embeds"] as? [[String: Any]])?.first
                #expect(discord["content"] as? String == headline, "\(discord)")
                #expect(
                    embed?["description"] as? String == rollback && (embed?["color"] as? NSNumber)?.intValue == 0xE01E5A
                        && embed?["title"] as? String == "web: Failed", "\(discord)")
                #expect((embed?["timestamp"] as? String)?.hasSuffix("Z") == true)

                let flagger = try #require(receiver.messages("/webhook").first)
                let metadata = flagger["metadata"] as? [String: Any]
                #expect(
                    flagger["name"] as? String == "web" && flagger["namespace"] as? String == "canarygate"
                        && flagger["phase"] as? String == "Failed")
                #expect(metadata?["eventMessage"] as? String == rollback && metadata?["eventType"] as? String == "Warning")
                let millis = (metadata?["timestamp"] as? String).flatMap(Double.init) ?? 0
                #expect(abs(millis / 1000 - Date().timeIntervalSince1970) < 60, "timestamp \(metadata?["timestamp"] ?? "none")")
                #expect(
                    flagger["severity"] as? String == "error" && flagger["revision"] as? String == "v2"
                        && (flagger["weight"] as? NSNumber)?.intValue == 0, "\(flagger)")

                // `info` gets every event the route's log shows, in order; `warn` the same without the info ones.
                // (/status lists the last 20 events: a longer log is compared by its end.)
                let status = try proxy.statusJSON()
                let shown = status["events"] as? [String] ?? []
                let logged = shown.filter { $0.hasPrefix("web: ") }
                #expect(
                    Posix.waitUntil(timeout: 5) {
                        receiver.messages("/info").count >= logged.count
                            && (shown.count == 20 || receiver.messages("/info").count == logged.count)
                    },
                    "info receiver: \(receiver.messages("/info").count) messages, event log: \(logged)")
                let steps = receiver.messages("/info")
                let told = zip(steps, Self.eventMessages(steps)).map { "web: \($0["phase"] ?? "?") weight=\($0["weight"] ?? "?") \($1)" }
                #expect(
                    Array(told.suffix(logged.count)) == logged && (shown.count == 20 || told.count == logged.count),
                    "told \(told)\nlogged \(logged)")
                #expect(
                    steps.contains { $0["severity"] as? String == "info" && $0["phase"] as? String == "Progressing" }, "no step: \(told)")
                let severe = steps.filter { $0["severity"] as? String != "info" }
                #expect(
                    Posix.waitUntil(timeout: 5) { receiver.messages("/warn").count == severe.count },
                    "warn receiver: \(Self.eventMessages(receiver.messages("/warn"))), expected \(Self.eventMessages(severe))")
                #expect(Self.eventMessages(receiver.messages("/warn")) == Self.eventMessages(severe))
                #expect(receiver.messages("/warn").allSatisfy { $0["severity"] as? String != "info" })

                // 500, 500, then 200 (after 1 s and 2 s of backoff): three deliveries of one message, counted sent.
                #expect(
                    Posix.waitUntil(timeout: 10) { receiver.messages("/flaky").count == 3 },
                    "flaky receiver asked \(receiver.messages("/flaky").count) times\n\(Self.logExcerpt(proxy))")
                #expect(Set(Self.eventMessages(receiver.messages("/flaky"))) == [rollback])
                let metrics = try proxy.metrics()
                #expect(metrics.value("canarygate_alerts_sent_total", ["alert": "flaky"]) == 1)
                #expect(metrics.value("canarygate_alerts_failed_total", ["alert": "flaky"]) == 0)
                #expect(metrics.value("canarygate_alerts_sent_total", ["alert": "slack"]) == 1)
                #expect(metrics.value("canarygate_alerts_sent_total", ["alert": "steps"]) == Double(steps.count))
                // Still hanging (its timeout is 20 s): neither sent nor failed, and it held up nothing above.
                #expect(metrics.value("canarygate_alerts_sent_total", ["alert": "hung"]) == 0)
                #expect(metrics.value("canarygate_alerts_failed_total", ["alert": "hung"]) == 0)
                #expect(metrics.value("canarygate_alerts_dropped_total") == 0)
            }
        }

        @Test func aFailedPreRolloutHookIsAnErrorNotificationAlsoOverHTTPS() throws {
            let primary = try TestUpstream.arm("primary", text: "v1")
            let canary = try TestUpstream.arm("canary", text: "v2")
            let receiver = try AlertReceiver()
            let dir = try TempDir.make()
            let certificate = try makeTestCertificate("localhost", in: dir)
            let https = try ScriptUpstream("https_receiver.py") { ["\($0)", certificate.certificate, certificate.privateKey] }
            defer { primary.stop(); canary.stop(); receiver.stop(); https.stop(); dir.remove() }
            var spec = RolloutSpec(primary: primary, canary: canary)
            spec.hooks = [.exec("smoke", "pre-rollout", ["sh", "-c", "echo smoke failed; exit 3"])]
            spec.alerts = [
                Self.alert("flagger", "webhook", receiver.url("/webhook"), "error"),
                Self.alert(
                    "secure", "slack", "https://localhost:\(https.port)/services/T0/B0/x", "error",
                    extra: ", caFile: \"\(certificate.certificate)\""),
            ]
            try withRolloutProxy(spec) { proxy in
                let (s, ended) = try proxy.waitForRollout(timeout: 10) { $0.phase == "Failed" }
                try #require(ended, "the failing pre-rollout hook did not fail the rollout: \(s)\n\(Self.logExcerpt(proxy))")
                #expect(s.message.contains("smoke: exit 3"), "message: \(s.message)")
                #expect(
                    Posix.waitUntil(timeout: 5) { !receiver.messages("/webhook").isEmpty },
                    "no notification of the failed hook\n\(Self.logExcerpt(proxy))")
                let told = receiver.messages("/webhook")
                #expect(told.count == 1 && told.first?["severity"] as? String == "error", "\(told)")
                #expect(Self.eventMessages(told) == [s.message])

                // Over TLS, the receiver's certificate checked against caFile: one Slack message at its path.
                #expect(Posix.waitUntil(timeout: 5) { https.printed.contains("/services/T0/B0/x") }, "HTTPS receiver: \(https.printed)")
                let lines = https.printed.split(separator: "\n").dropFirst()
                let bodies = lines.compactMap { line in
                    (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
                }.compactMap { $0["body"] as? String }
                let slack = bodies.first.flatMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
                #expect(bodies.count == 1 && slack?["text"] as? String == "ERROR web v2: Failed at weight 0", "\(bodies)")
                #expect(try proxy.metrics().value("canarygate_alerts_sent_total", ["alert": "secure"]) == 1)
            }
        }

        @Test func aReloadsAlertsApplyFromTheNextEvent() throws {
            let primary = try TestUpstream.arm("primary", text: "v1")
            let canary = try TestUpstream.arm("canary", text: "v2")
            let receiver = try AlertReceiver()
            defer { primary.stop(); canary.stop(); receiver.stop() }
            var spec = RolloutSpec(primary: primary, canary: canary)
            spec.hooks = [.exec("smoke", "pre-rollout", ["sh", "-c", "exit 3"])]
            try withRolloutProxy(spec) { proxy in
                let (s, ended) = try proxy.waitForRollout(timeout: 10) { $0.phase == "Failed" }
                try #require(ended, "\(s)\n\(Self.logExcerpt(proxy))")
                // A new revision and an alert, by SIGHUP: the new rollout's events are sent, the old ones were not.
                spec.canary.revision = "v3"
                spec.alerts = [Self.alert("flagger", "webhook", receiver.url("/webhook"), "info")]
                try spec.yaml(listenPort: proxy.port, adminPort: proxy.adminPort).write(
                    to: proxy.configFile, atomically: true, encoding: .utf8)
                kill(proxy.pid, SIGHUP)
                let (after, failedAgain) = try proxy.waitForRollout(timeout: 10) { $0.phase == "Failed" && $0.canaryRevision == "v3" }
                try #require(failedAgain, "\(after)\n\(Self.logExcerpt(proxy))")
                #expect(
                    Posix.waitUntil(timeout: 5) { receiver.messages("/webhook").contains { $0["severity"] as? String == "error" } },
                    "no error notification after the reload\n\(Self.logExcerpt(proxy))")
                let revisions = Set(receiver.messages("/webhook").map { $0["revision"] as? String ?? "?" })
                #expect(revisions == ["v3"], "notified revisions \(revisions)")
            }
        }
    }
}
