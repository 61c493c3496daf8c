// Sends notifications off the control thread: a bounded queue per alert, drained by that alert's own worker thread.
import Config
import Foundation

/// The controller enqueues each rollout event for the alerts whose minimum severity it reaches; that never
/// blocks (a lock held for an append). Each alert has its own queue and its own worker, so a receiver that is
/// slow, hangs until its timeout or keeps failing delays only its own messages. A worker is a thread started
/// when its queue gets a message and ended when the queue is empty: a config without alerts starts none, and
/// an alert a reload removed leaves nothing running. Messages of one alert go out in order, each retried per
/// `AlertRetry` before the next. A queue holds at most `queueLimit` messages; when it is full the oldest is
/// dropped (and counted): the newest say where the rollout is now, which is what a late reader needs.
package final class AlertSender: @unchecked Sendable {
    package struct Counts: Equatable, Sendable {
        /// Messages a receiver accepted (2xx), by alert name.
        package var sent: [String: Int] = [:]
        /// Messages given up after their last retry, by alert name.
        package var failed: [String: Int] = [:]
        /// Messages dropped from full queues, all alerts.
        package var dropped = 0
        package init() {}
    }

    package static let queueLimit = 1_000

    private struct Message {
        var alert: AlertConfig
        var event: AlertEvent
    }

    /// Guards every `var` below (hence `@unchecked Sendable`) and wakes workers waiting out a backoff at `stop`.
    private let condition = NSCondition()
    private var queues: [String: [Message]] = [:]
    private var working: Set<String> = []
    private var counts = Counts()
    private var stopped = false
    private let queueLimit: Int
    private let post: @Sendable ([UInt8], AlertConfig) -> AlertPost.Attempt
    private let log: @Sendable (String) -> Void

    /// `post` is one attempt (`AlertPost.send`; the unit tests pass their own); `log` takes the lines about
    /// messages given up, dropped or not started.
    package init(
        queueLimit: Int = AlertSender.queueLimit, post: @escaping @Sendable ([UInt8], AlertConfig) -> AlertPost.Attempt = AlertPost.send,
        log: @escaping @Sendable (String) -> Void
    ) {
        self.queueLimit = queueLimit
        self.post = post
        self.log = log
    }

    package var snapshot: Counts { condition.withLock { counts } }

    /// Queues `event` for each of `alerts` whose minimum severity it reaches.
    package func enqueue(_ event: AlertEvent, to alerts: [AlertConfig]) {
        let matching = alerts.filter { event.reaches($0.severity) }
        guard !matching.isEmpty else { return }
        condition.withLock {
            guard !stopped else { return }
            for alert in matching {
                var queue = queues[alert.name, default: []]
                if queue.count >= queueLimit {
                    queue.removeFirst()
                    counts.dropped += 1
                    if counts.dropped == 1 || counts.dropped % 100 == 0 {
                        log("alert \(alert.name): queue full (\(queueLimit) messages), the oldest dropped (\(counts.dropped) in all)")
                    }
                }
                queue.append(Message(alert: alert, event: event))
                queues[alert.name] = queue
                if working.insert(alert.name).inserted { startWorker(alert.name) }
            }
        }
    }

    /// No new messages; workers end after their current attempt (a backoff wait ends at once).
    package func stop() {
        condition.withLock {
            stopped = true
            condition.broadcast()
        }
    }

    /// Under the lock.
    private func startWorker(_ name: String) {
        guard !HookThread.start({ [self] in work(name) }) else { return }
        // Left queued: the next message for this alert tries to start a worker again.
        working.remove(name)
        log("alert \(name): cannot start a thread to send it; \(queues[name]?.count ?? 0) message(s) wait")
    }

    private func work(_ name: String) {
        while let message = next(name) { deliver(message) }
    }

    /// The alert's oldest message, or nil (and the worker ends) when there is none or the sender stopped.
    private func next(_ name: String) -> Message? {
        condition.withLock {
            guard !stopped, var queue = queues[name], !queue.isEmpty else {
                working.remove(name)
                queues[name] = nil
                return nil
            }
            let message = queue.removeFirst()
            queues[name] = queue
            return message
        }
    }

    private func deliver(_ message: Message) {
        let alert = message.alert
        let body = AlertPayload.body(message.event, as: alert.type)
        var retry = AlertRetry(retries: alert.retries)
        while true {
            let attempt = post(body, alert)
            switch retry.record(attempt.outcome) {
            case .sent:
                condition.withLock { counts.sent[alert.name, default: 0] += 1 }
                return
            case .giveUp:
                condition.withLock { counts.failed[alert.name, default: 0] += 1 }
                log("alert \(alert.name): \"\(message.event.headline)\" not sent after \(retry.attempts) attempt(s): \(attempt.detail)")
                return
            case .retry(let wait):
                if !waitUnlessStopped(wait) { return }
            }
        }
    }

    /// Waits `duration`; false when the sender stopped meanwhile.
    private func waitUnlessStopped(_ duration: Duration) -> Bool {
        let (seconds, attoseconds) = duration.components
        let end = Date().addingTimeInterval(Double(seconds) + Double(attoseconds) / 1e18)
        return condition.withLock {
            while !stopped && condition.wait(until: end) {}
            return !stopped
        }
    }
}
