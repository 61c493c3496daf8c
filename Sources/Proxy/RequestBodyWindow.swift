// One window of `timeouts.requestBody`: whether a client sent enough of its body while the proxy waited for it.

/// A window starts when the proxy begins waiting for request-body bytes (the upstream took everything
/// so far) and ends when its deadline fires; time blocked on the upstream is outside every window.
struct RequestBodyWindow: Equatable {
    let startedAt: UInt64
    /// The exchange's body bytes read from the client when the window started.
    let bytesAtStart: UInt64

    /// Bytes a window of `elapsed` nanoseconds must bring: `minRate` bytes per second, and at least one.
    static func required(elapsed: UInt64, minRate: Int) -> UInt64 {
        let (product, overflow) = UInt64(minRate).multipliedReportingOverflow(by: elapsed / 1_000_000)
        return max(1, overflow ? UInt64.max : product / 1000)
    }

    /// The client kept up: `bytesRead` (the running total) grew by what the window required.
    func isMet(now: UInt64, bytesRead: UInt64, minRate: Int) -> Bool {
        bytesRead &- bytesAtStart >= Self.required(elapsed: now &- startedAt, minRate: minRate)
    }
}
