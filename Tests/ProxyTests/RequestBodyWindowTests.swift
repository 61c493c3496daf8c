// RequestBodyWindow: what a timeouts.requestBody window requires of the client, without sockets.

@testable import Proxy
import Testing

@Suite struct RequestBodyWindowTests {
    static let second: UInt64 = 1_000_000_000

    @Test func aWindowNeedsTheRateTimesItsLengthAndAtLeastOneByte() {
        #expect(RequestBodyWindow.required(elapsed: 10 * Self.second, minRate: 256) == 2560)
        #expect(RequestBodyWindow.required(elapsed: Self.second / 2, minRate: 256) == 128)
        #expect(RequestBodyWindow.required(elapsed: 10 * Self.second, minRate: 0) == 1)
        #expect(RequestBodyWindow.required(elapsed: 1_000, minRate: 256) == 1)
        // No overflow for the largest rate over a long window.
        #expect(RequestBodyWindow.required(elapsed: UInt64.max, minRate: 1 << 30) == UInt64.max)
    }

    @Test func bytesCountFromTheWindowsStart() {
        let window = RequestBodyWindow(startedAt: 5 * Self.second, bytesAtStart: 1000)
        #expect(!window.isMet(now: 6 * Self.second, bytesRead: 1000, minRate: 0))
        #expect(window.isMet(now: 6 * Self.second, bytesRead: 1001, minRate: 0))
        #expect(!window.isMet(now: 6 * Self.second, bytesRead: 1255, minRate: 256))
        #expect(window.isMet(now: 6 * Self.second, bytesRead: 1256, minRate: 256))
    }
}
