// The sender's queues without sockets: severity filter, the oldest dropped when full, alerts independent, the flush at stop.
import Config
import Foundation
import Rollout
import Synchronization
import Testing

/// Records every attempt; an alert named in `blocked` waits in its attempt until `release` (bounded at 10 s).
private final class FakeReceivers: Sendable {
    let posted = Mutex<[(alert: String, body: String)]>([])
    let blocked = Mutex<Set<String>>([])
    let started = Mutex<[String]>([])

    func post(_ body: [UInt8], _ alert: AlertConfig) -> AlertPost.Attempt {
        started.withLock { $0.append(alert.name) }
        let end = Date().addingTimeInterval(10)
        while blocked.withLock({ $0.contains(alert.name) }) && Date() < end { usleep(1000) }
        posted.withLock { $0.append((alert.name, String(decoding: body, as: UTF8.self))) }
        return AlertPost.Attempt(outcome: .delivered, detail: "HTTP 200")
    }

    func release(_ name: String) { _ = blocked.withLock { $0.remove(name) } }

    func messages(to alert: String) -> [String] {
        posted.withLock { $0.filter { $0.alert == alert }.map(\.body) }.compactMap { body in
            let json = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
            return (json?["metadata"] as? [String: String])?["eventMessage"]
        }
    }
}

private func waitUntil(_ condition: () -> Bool) -> Bool {
    let end = Date().addingTimeInterval(5)
    while !condition() {
        if Date() > end { return false }
        usleep(1000)
    }
    return true
}

private func event(_ message: String, _ severity: EventSeverity = .error) -> AlertEvent {
    AlertEvent(route: "web", revision: "v2", phase: "Progressing", weight: 25, severity: severity, message: message, unixTime: 0)
}

private func alert(_ name: String, _ minimum: AlertSeverity = .warn) -> AlertConfig {
    var alert = AlertConfig(name: name, type: .webhook, url: "http://127.0.0.1:9/\(name)")
    alert.severity = minimum
    return alert
}

@Suite struct AlertSenderTests {
    @Test func eachAlertGetsTheEventsThatReachItsMinimum() {
        let receivers = FakeReceivers()
        let sender = AlertSender(post: receivers.post, log: { _ in })
        defer { sender.stop() }
        let alerts = [alert("all", .info), alert("warnings", .warn), alert("errors", .error)]
        sender.enqueue(event("step", .info), to: alerts)
        sender.enqueue(event("check", .warn), to: alerts)
        sender.enqueue(event("rollback", .error), to: alerts)
        #expect(waitUntil { sender.snapshot.sent.values.reduce(0, +) == 6 })
        #expect(receivers.messages(to: "all") == ["step", "check", "rollback"])
        #expect(receivers.messages(to: "warnings") == ["check", "rollback"])
        #expect(receivers.messages(to: "errors") == ["rollback"])
        #expect(sender.snapshot.sent == ["all": 3, "warnings": 2, "errors": 1] && sender.snapshot.dropped == 0)
    }

    @Test func aFullQueueDropsItsOldestMessageAndCountsIt() {
        let receivers = FakeReceivers()
        let logged = Mutex<[String]>([])
        let sender = AlertSender(queueLimit: 2, post: receivers.post, log: { line in logged.withLock { $0.append(line) } })
        defer { sender.stop() }
        _ = receivers.blocked.withLock { $0.insert("chat") }
        sender.enqueue(event("1"), to: [alert("chat")])
        #expect(waitUntil { receivers.started.withLock { $0.count } == 1 })
        // 1 is being sent; 2 and 3 fill the queue; 4 drops 2.
        for message in ["2", "3", "4"] { sender.enqueue(event(message), to: [alert("chat")]) }
        #expect(sender.snapshot.dropped == 1)
        receivers.release("chat")
        #expect(waitUntil { sender.snapshot.sent["chat"] == 3 })
        #expect(receivers.messages(to: "chat") == ["1", "3", "4"])
        #expect(logged.withLock { $0 }.contains { $0.contains("queue full (2 messages), the oldest dropped (1 in all)") })
    }

    @Test func aReceiverThatDoesNotAnswerDelaysOnlyItsOwnAlert() {
        let receivers = FakeReceivers()
        let sender = AlertSender(post: receivers.post, log: { _ in })
        defer { sender.stop() }
        _ = receivers.blocked.withLock { $0.insert("stuck") }
        let alerts = [alert("stuck"), alert("chat")]
        sender.enqueue(event("a"), to: alerts)
        sender.enqueue(event("b"), to: alerts)
        #expect(waitUntil { sender.snapshot.sent["chat"] == 2 })
        #expect(receivers.messages(to: "stuck").isEmpty)
        receivers.release("stuck")
        #expect(waitUntil { sender.snapshot.sent["stuck"] == 2 })
        #expect(receivers.messages(to: "stuck") == ["a", "b"])
    }

    @Test func aFailedMessageIsCountedAndLoggedWithoutItsURL() {
        let logged = Mutex<[String]>([])
        let sender = AlertSender(
            post: { _, _ in AlertPost.Attempt(outcome: .failed(retryable: true), detail: "HTTP 500") },
            log: { line in logged.withLock { $0.append(line) } })
        defer { sender.stop() }
        var once = alert("chat")
        once.retries = 0
        sender.enqueue(event("rollback"), to: [once])
        #expect(waitUntil { sender.snapshot.failed["chat"] == 1 })
        let lines = logged.withLock { $0 }
        #expect(lines == [#"alert chat: "ERROR web v2: Progressing at weight 25" not sent after 1 attempt(s): HTTP 500"#])
        #expect(sender.snapshot.sent["chat"] == nil)
    }

    @Test func aRevokedWebhookIsTriedOnceAndLoggedWithItsStatus() {
        let logged = Mutex<[String]>([])
        let attempts = Mutex(0)
        let sender = AlertSender(
            post: { _, _ in
                attempts.withLock { $0 += 1 }
                return AlertPost.Attempt(outcome: AlertPost.outcome(status: 410), detail: "HTTP 410")
            },
            log: { line in logged.withLock { $0.append(line) } })
        defer { sender.stop() }
        sender.enqueue(event("rollback"), to: [alert("chat")])
        #expect(waitUntil { sender.snapshot.failed["chat"] == 1 })
        #expect(attempts.withLock { $0 } == 1)
        #expect(logged.withLock { $0 } == [#"alert chat: "ERROR web v2: Progressing at weight 25" not sent after 1 attempt(s): HTTP 410"#])
    }

    @Test func stopSendsWhatIsQueuedWithinTheFlush() {
        let logged = Mutex<[String]>([])
        let sender = AlertSender(
            post: { _, _ in
                usleep(20_000)
                return AlertPost.Attempt(outcome: .delivered, detail: "HTTP 200")
            },
            log: { line in logged.withLock { $0.append(line) } })
        for message in ["1", "2", "3", "4", "5"] { sender.enqueue(event(message), to: [alert("chat"), alert("pager")]) }
        sender.stop(flushingFor: .seconds(10))
        // `stop` returned because the queues were empty, not at the flush's end.
        #expect(sender.snapshot.sent == ["chat": 5, "pager": 5] && sender.snapshot.discarded.isEmpty)
        #expect(logged.withLock { $0 }.isEmpty)
    }

    @Test func whatTheFlushCannotSendIsDiscardedCountedAndLogged() {
        let receivers = FakeReceivers()
        let logged = Mutex<[String]>([])
        let sender = AlertSender(post: receivers.post, log: { line in logged.withLock { $0.append(line) } })
        _ = receivers.blocked.withLock { $0.insert("stuck") }
        for message in ["1", "2", "3"] { sender.enqueue(event(message), to: [alert("stuck"), alert("chat")]) }
        #expect(waitUntil { receivers.started.withLock { $0.filter { $0 == "stuck" }.count } == 1 })
        sender.stop(flushingFor: .milliseconds(200))
        // "stuck": 1 unanswered and 2 queued; "chat" sent all three within the flush.
        #expect(sender.snapshot.discarded == ["stuck": 3])
        #expect(sender.snapshot.sent == ["chat": 3])
        #expect(logged.withLock { $0 } == ["alerts: 3 notification(s) not sent before shutdown, discarded (stuck: 3)"])
        // The unanswered attempt ending later is not counted a second time, and nothing queued is sent.
        receivers.release("stuck")
        #expect(waitUntil { receivers.messages(to: "stuck").count == 1 })
        usleep(50_000)
        #expect(receivers.messages(to: "stuck") == ["1"] && sender.snapshot.sent["stuck"] == nil)
    }

    @Test func aBackoffThatOutlastsTheFlushIsDiscardedAtOnce() {
        let attempts = Mutex(0)
        let sender = AlertSender(
            post: { _, _ in
                attempts.withLock { $0 += 1 }
                return AlertPost.Attempt(outcome: .failed(retryable: true), detail: "HTTP 503")
            },
            log: { _ in })
        sender.enqueue(event("rollback"), to: [alert("chat")])
        #expect(waitUntil { attempts.withLock { $0 } == 1 })
        let start = Date()
        // The first backoff is 1 s; the flush lasts 300 ms.
        sender.stop(flushingFor: .milliseconds(300))
        #expect(Date().timeIntervalSince(start) < 0.9)
        #expect(sender.snapshot.discarded == ["chat": 1] && sender.snapshot.failed.isEmpty)
        #expect(attempts.withLock { $0 } == 1)
    }

    @Test func aBackoffWithinTheFlushIsWaitedOutAndRetried() {
        let attempts = Mutex(0)
        let sender = AlertSender(
            post: { _, _ in
                let n = attempts.withLock {
                    $0 += 1; return $0
                }
                return AlertPost.Attempt(outcome: n == 1 ? .failed(retryable: true) : .delivered, detail: n == 1 ? "HTTP 503" : "HTTP 200")
            },
            log: { _ in })
        sender.enqueue(event("rollback"), to: [alert("chat")])
        #expect(waitUntil { attempts.withLock { $0 } == 1 })
        sender.stop(flushingFor: .seconds(10))
        #expect(sender.snapshot.sent == ["chat": 1] && sender.snapshot.discarded.isEmpty)
        #expect(attempts.withLock { $0 } == 2)
    }

    @Test func afterStopNothingIsQueued() {
        let receivers = FakeReceivers()
        let sender = AlertSender(post: receivers.post, log: { _ in })
        sender.stop()
        // A worker would be started by `enqueue` itself, so its absence shows now.
        sender.enqueue(event("late"), to: [alert("chat")])
        #expect(receivers.started.withLock { $0 }.isEmpty && sender.snapshot == AlertSender.Counts())
    }
}
