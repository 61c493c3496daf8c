// Sends notifications off the control thread: a bounded queue per alert, drained by that alert's own worker thread.
import Config
import Foundation

/// The controller enqueues each rollout event for the alerts whose minimum severity it reaches; that never
/// blocks (a lock held for an append). Each alert has its own queue and its own worker, so a receiver that is
/// slow, hangs until its timeout or keeps failing delays only its own messages. A worker is a thread started
/// when its queue gets a message and ended when the queue is empty: a config without alerts starts none, and
/// an alert a reload removed leaves nothing running. Messages of one alert go out in order, each retried per
/// `AlertRetry` before the next. A queue holds at most `queueLimit` messages; when it is full the oldest is
/// dropped (and counted): the newest say where the rollout is now, which is what a late reader needs. At shutdown
/// the workers get a short flush to send what is queued; what is left then is counted discarded and logged.
package final class AlertSender: @unchecked Sendable {
    package struct Counts: Equatable, Sendable {
        /// Messages a receiver accepted (2xx), by alert name.
        package var sent: [String: Int] = [:]
        /// Messages given up after their last retry, by alert name.
        package var failed: [String: Int] = [:]
        /// Messages dropped from full queues, all alerts.
        package var dropped = 0
        /// Messages still queued, waiting out a backoff or unanswered when `stop`'s flush ended, by alert name.
        package var discarded: [String: Int] = [:]
        package init() {}
    }

    package static let queueLimit = 1_000
    /// How long `stop` lets the workers send what is queued: long enough for a receiver that answers, short
    /// enough that a hung one does not hold up the process's exit.
    package static let shutdownFlush = Duration.seconds(2)

    private struct Message {
        var alert: AlertConfig
        var event: AlertEvent
    }

    /// Guards every `var` below (hence `@unchecked Sendable`) and wakes workers waiting out a backoff at `stop`.
    private let condition = NSCondition()
    private var queues: [String: [Message]] = [:]
    /// Alerts with a worker running; `delivering`: those whose worker holds a message taken from its queue.
    private var working: Set<String> = []
    private var delivering: Set<String> = []
    private var counts = Counts()
    /// Set by `stop`: no new messages, and the flush ends at `flushEnd`; `finished` once it has ended.
    private var stopped = false
    private var flushEnd = Date.distantFuture
    private var finished = false
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

    /// No new messages; the workers go on sending what is queued for up to `flush`, and a retry whose backoff
    /// would end after that gives up at once. Returns when every queue is empty or the flush has ended; then
    /// the messages left (queued, or an attempt still unanswered) are counted discarded and logged.
    package func stop(flushingFor flush: Duration = .zero) {
        let discarded: [String: Int] = condition.withLock {
            guard !stopped else { return [:] }
            stopped = true
            flushEnd = Date().addingTimeInterval(Self.seconds(flush))
            condition.broadcast()
            while !working.isEmpty && condition.wait(until: flushEnd) {}
            finished = true
            var left: [String: Int] = [:]
            for (name, queue) in queues where !queue.isEmpty { left[name, default: 0] += queue.count }
            for name in delivering { left[name, default: 0] += 1 }
            queues = [:]
            counts.discarded.merge(left, uniquingKeysWith: +)
            return counts.discarded
        }
        guard !discarded.isEmpty else { return }
        let perAlert = discarded.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
        log("alerts: \(discarded.values.reduce(0, +)) notification(s) not sent before shutdown, discarded (\(perAlert))")
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

    /// The alert's oldest message, or nil (and the worker ends) when there is none or the shutdown flush has ended.
    private func next(_ name: String) -> Message? {
        condition.withLock {
            guard !finished, var queue = queues[name], !queue.isEmpty else {
                working.remove(name)
                queues[name] = nil
                // `stop` waits for the last worker to end.
                condition.broadcast()
                return nil
            }
            let message = queue.removeFirst()
            queues[name] = queue
            delivering.insert(name)
            return message
        }
    }

    /// Counts the message in hand as `result` (one of `counts`' per-alert tallies); false when `stop` has
    /// already counted it discarded.
    private func settle(_ name: String, as result: WritableKeyPath<Counts, [String: Int]>) -> Bool {
        condition.withLock {
            guard !finished else { return false }
            delivering.remove(name)
            counts[keyPath: result][name, default: 0] += 1
            return true
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
                _ = settle(alert.name, as: \.sent)
                return
            case .giveUp:
                guard settle(alert.name, as: \.failed) else { return }
                log("alert \(alert.name): \"\(message.event.headline)\" not sent after \(retry.attempts) attempt(s): \(attempt.detail)")
                return
            case .retry(let wait):
                if !waitForRetry(alert.name, wait) { return }
            }
        }
    }

    /// Waits out a backoff; false (the message counted discarded) when the sender stops and the wait would
    /// outlast the shutdown flush: waiting would only hold up the exit.
    private func waitForRetry(_ name: String, _ backoff: Duration) -> Bool {
        let end = Date().addingTimeInterval(Self.seconds(backoff))
        return condition.withLock {
            while !finished {
                if stopped && end > flushEnd {
                    delivering.remove(name)
                    counts.discarded[name, default: 0] += 1
                    return false
                }
                if !condition.wait(until: end) { break }
            }
            return !finished
        }
    }

    private static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
