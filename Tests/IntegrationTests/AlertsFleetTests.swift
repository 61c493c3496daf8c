// Notifications in fleet mode: three replicas with the same alerts, one leader's machines, each event sent once.
import Foundation
import Testing

extension Integration {
    @Suite("Alerts in a fleet", .serialized, .enabled(if: EtcdServer.isAvailable))
    struct AlertsInAFleet {
        @Test func onlyTheLeaderSendsSoEachEventIsSentOncePerFleet() throws {
            let primary = try TestUpstream.arm("primary", text: "v1")
            let canary = try TestUpstream.arm("canary", text: "v2")
            let receiver = try AlertReceiver()
            defer { primary.stop(); canary.stop(); receiver.stop() }
            var spec = RolloutSpec(primary: primary, canary: canary)
            spec.progressDeadline = "30s"
            // The leader runs the hook: it fails, the fleet's rollout is rolled back, every replica applies it.
            spec.hooks = [.exec("smoke", "pre-rollout", ["sh", "-c", "exit 3"])]
            spec.alerts = [Alerts.alert("flagger", "webhook", receiver.url("/webhook"), "info")]
            try withFleet(spec, replicas: 3) { fleet in
                let (leader, _) = try #require(fleet.waitForLeader(timeout: 5), "no leader\n\(fleet.logTails())")
                let (statuses, failed) = fleet.waitUntilAll(timeout: 15) { $0.phase == "Failed" }
                try #require(failed, "not rolled back everywhere: \(statuses)\n\(fleet.logTails())")
                #expect(
                    Posix.waitUntil(timeout: 5) { receiver.messages("/webhook").contains { $0["severity"] as? String == "error" } },
                    "no rollback notification\n\(fleet.logTails())")
                // Followers applying the state must add nothing: the count holds once the rollback is told.
                let told = receiver.messages("/webhook").count
                #expect(
                    !Posix.waitUntil(timeout: 1) { receiver.messages("/webhook").count != told },
                    "more messages after the rollback: \(Alerts.eventMessages(receiver.messages("/webhook")))")
                let messages = receiver.messages("/webhook")
                let senders = Set(messages.map { $0["replica"] as? String ?? "none" })
                #expect(senders == [leader.name], "sent by \(senders), the leader is \(leader.name)")
                #expect(Set(messages.map { $0["namespace"] as? String ?? "?" }) == ["shop"])
                let lines = Alerts.eventMessages(messages)
                #expect(Set(lines).count == lines.count, "an event sent twice: \(lines)")
                #expect(messages.filter { $0["severity"] as? String == "error" }.count == 1, "\(lines)")
                for follower in fleet.replicas where follower !== leader {
                    let sent = try follower.metrics().value("canarygate_alerts_sent_total", ["alert": "flagger"])
                    #expect(sent == 0, "follower \(follower.name) sent \(sent ?? -1)")
                }
            }
        }
    }
}
