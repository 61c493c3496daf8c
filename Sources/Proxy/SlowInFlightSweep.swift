// The 100 ms sweep that counts an exchange slow once it has been in flight longer than its route's T, before it ends.
import EventLoop
import Telemetry

/// Every 100 ms while the served snapshot has a managed route: each exchange in flight (an HTTP/1.1
/// connection in an exchange, an HTTP/2 stream awaiting or receiving its response) of a managed route
/// whose T is published, older than T and not yet marked, is marked and counted slow on its arm's shard
/// (`slowInFlight`), so a canary that hangs requests shows as slow within T plus a tick rather than when
/// the requests end. Exchanges are found by their shard, which identifies the (route, arm) across
/// reloads; the request path pays one Bool store. On no reactor, only on the loop's 100 ms deadline list.
final class SlowInFlightSweep: Pollable {
    /// Unowned: the loop owns the sweep.
    unowned(unsafe) var proxy: ProxyLoop?
    /// T by arm shard, refilled at each sweep (kept for its capacity: no allocation per sweep).
    private var thresholdByShard: [ObjectIdentifier: UInt64] = [:]

    /// Keeps the sweep ticking while `routes` has a managed route (none: the loop sleeps undisturbed).
    func keepTicking(routes: [CompiledRoute], on list: DeadlineList, now: UInt64) {
        guard !hasDeadline, routes.contains(where: \.managed) else { return }
        list.arm(self, now: now)
    }

    override func handleDeadline() { proxy?.sweepSlowInFlight() }

    /// Refills the thresholds from the managed routes of `routes` (with `runtimes`, by route index) whose T
    /// is published; false when none is, and nothing is to be marked.
    func refillThresholds(routes: [CompiledRoute], runtimes: [RouteRuntime]) -> Bool {
        thresholdByShard.removeAll(keepingCapacity: true)
        for (route, runtime) in zip(routes, runtimes) where route.managed {
            let t = route.slowThreshold.nanoseconds
            guard t > 0 else { continue }
            thresholdByShard[ObjectIdentifier(runtime.primaryShard)] = t
            thresholdByShard[ObjectIdentifier(runtime.canaryShard)] = t
        }
        return !thresholdByShard.isEmpty
    }

    /// The T of the arm `shard` counts, 0 when it has none (its exchanges are never marked).
    func threshold(of shard: ArmShard) -> UInt64 { thresholdByShard[ObjectIdentifier(shard)] ?? 0 }
}
