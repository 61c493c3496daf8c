// Two loops writing their own shards of one series while a third thread keeps taking snapshots.
import Dispatch
import Synchronization
import Foundation
import Testing
import Telemetry

@Suite struct ConcurrencyTests {
    /// Every counter of `later` is at least the same counter of `earlier`.
    static func isMonotonic(_ earlier: ArmSnapshot, _ later: ArmSnapshot) -> Bool {
        earlier.requestsByStatus.allSatisfy { later.requests(status: $0.key) >= $0.value }
            && later.otherStatusRequests >= earlier.otherStatusRequests
            && earlier.failures.allSatisfy { later.failureCount($0.key) >= $0.value }
            && later.bytesFromClient >= earlier.bytesFromClient
            && later.bytesToClient >= earlier.bytesToClient
            && later.histogram.sumNanoseconds >= earlier.histogram.sumNanoseconds
            && zip(earlier.histogram.counts, later.histogram.counts).allSatisfy { $0 <= $1 }
    }

    @Test func writersAndReaderOnThreeThreads() throws {
        let iterations = 1_000_000
        let registry = MetricsRegistry(loopCount: 2)
        let done = DispatchSemaphore(value: 0)
        for loop in 0..<2 {
            let shard = registry.shard(route: "api", arm: .canary, loop: loop)
            Thread.detachNewThread {
                for i in 0..<iterations {
                    shard.requestStarted()
                    if i % 100 == 99 { shard.recordFailure(.upstreamReset) }
                    shard.recordResponse(
                        status: i % 100 == 99 ? 502 : 200, latencyNanoseconds: UInt64(1_000 + (i % 5_000) * 1_000),
                        bytesFromClient: 1, bytesToClient: 2
                    )
                }
                done.signal()
            }
        }
        let reader = Thread.detachNewThreadReturning {
            var previous = ArmSnapshot()
            var snapshots = 0, nonMonotonic = 0
            var finished = 0
            while finished < 2 {
                if done.wait(timeout: .now()) == .success { finished += 1 }
                let current = registry.snapshot().route(named: "api")!.canary
                if !Self.isMonotonic(previous, current) { nonMonotonic += 1 }
                previous = current
                snapshots += 1
            }
            return (snapshots, nonMonotonic)
        }
        let (snapshots, nonMonotonic) = reader.wait()
        #expect(snapshots > 1)
        #expect(nonMonotonic == 0)

        let final = try #require(registry.snapshot().route(named: "api")).canary
        let total = UInt64(2 * iterations)
        #expect(final.responses == total)
        #expect(final.requests(status: 502) == total / 100)
        #expect(final.failures == [.upstreamReset: total / 100])
        #expect(final.bytesFromClient == total)
        #expect(final.bytesToClient == 2 * total)
        #expect(final.inFlight == 0)
        #expect(final.histogram.count == total)
        let perThreadSum = (0..<iterations).reduce(UInt64(0)) { $0 + UInt64(1_000 + ($1 % 5_000) * 1_000) }
        #expect(final.histogram.sumNanoseconds == 2 * perThreadSum)
    }
}

extension Thread {
    /// Runs `body` on a new thread; `wait()` on the result joins it.
    static func detachNewThreadReturning<T: Sendable>(_ body: @escaping @Sendable () -> T) -> ThreadResult<T> {
        let result = ThreadResult<T>()
        detachNewThread { result.set(body()) }
        return result
    }
}

final class ThreadResult<T: Sendable>: Sendable {
    private let value = Mutex<T?>(nil)
    private let ready = DispatchSemaphore(value: 0)
    func set(_ newValue: T) {
        value.withLock { $0 = newValue }
        ready.signal()
    }
    func wait() -> T {
        ready.wait()
        return value.withLock { $0! }
    }
}
