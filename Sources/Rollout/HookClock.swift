// Monotonic time, deadlines and duration wording for the hooks (attempt timeouts, backoff, "timed out after 5s").
#if canImport(Glibc)
import Glibc
#endif

package enum HookClock {
    /// CLOCK_MONOTONIC in nanoseconds: deadlines must not move with the wall clock.
    package static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// A duration in nanoseconds, clamped to 0 when negative.
    package static func nanoseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        if seconds < 0 || (seconds == 0 && attoseconds <= 0) { return 0 }
        let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return UInt64.max / 2 }
        return whole + UInt64(attoseconds / 1_000_000_000)
    }

    /// "5s", "0.3s", "1.25s": whole milliseconds, the form the hook details use.
    package static func describe(_ duration: Duration) -> String {
        let millis = nanoseconds(duration) / 1_000_000
        if millis % 1000 == 0 { return "\(millis / 1000)s" }
        var fraction = String(millis % 1000)
        while fraction.count < 3 { fraction = "0" + fraction }
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return "\(millis / 1000).\(fraction)s"
    }

    /// Sleeps the calling (hook) thread; never called on an event loop.
    package static func sleep(nanoseconds: UInt64) {
        var request = timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }

    /// Milliseconds left until `deadline` for poll(2), at least 0, at most `cap`.
    package static func pollMilliseconds(until deadline: UInt64, cap: Int32 = Int32.max) -> Int32 {
        let now = now()
        if now >= deadline { return 0 }
        let millis = (deadline - now + 999_999) / 1_000_000
        return Int32(min(UInt64(cap), millis))
    }
}
