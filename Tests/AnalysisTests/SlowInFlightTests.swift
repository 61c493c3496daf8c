// Requests found in flight past the slow threshold: counted slow at their mark, once, whatever their end.

import Foundation
import Synchronization
import Testing
import Telemetry
@testable import Analysis

@Suite struct SlowInFlightTests {
    static let t = 0.2  // T, seconds
    static let late: UInt64 = 5_000_000_000  // a 5 s response, beyond T
    static let fast: UInt64 = 1_000_000  // 1 ms

    /// Each tick's window from the shard, as the controller takes them (delta since the previous tick).
    final class Ticks {
        let shard = ArmShard()
        var last: ArmSnapshot
        var total = OutcomeCounts()
        init() { last = shard.snapshot() }

        @discardableResult
        func tick(slowThreshold: Double? = SlowInFlightTests.t) -> OutcomeCounts {
            let now = shard.snapshot()
            let counts = ArmWindow(now.delta(since: last)).outcomes(slowThreshold: slowThreshold)
            last = now
            total = total + counts
            return counts
        }
    }

    @Test func markedThenAnsweredCountsOnce() {
        let ticks = Ticks()
        ticks.shard.requestStarted()
        ticks.shard.recordSlowInFlight()
        let marked = ticks.tick()
        // Slow at its mark, before it ends: one of the slow class's population, not yet a response.
        #expect(marked.slow == 1 && marked.slowPopulation == 1 && marked.responses == 0 && marked.population(.slow) == 1)
        #expect(ticks.last.slowInFlight == 1 && ticks.last.slowMarkedAnswered == 0)

        ticks.shard.recordResponse(status: 200, latencyNanoseconds: Self.late, bytesFromClient: 0, bytesToClient: 0)
        ticks.shard.recordSlowMarkedAnswered()
        let answered = ticks.tick()
        #expect(answered.slow == 0 && answered.slowPopulation == 0 && answered.responses == 1)
        #expect(ticks.total.slow == 1 && ticks.total.slowPopulation == 1 && ticks.total.responses == 1 && ticks.total.requests == 1)
    }

    @Test func markedAndAnsweredInOneTickCountsOnce() {
        let ticks = Ticks()
        ticks.shard.requestStarted()
        ticks.shard.recordSlowInFlight()
        ticks.shard.recordResponse(status: 200, latencyNanoseconds: Self.late, bytesFromClient: 0, bytesToClient: 0)
        ticks.shard.recordSlowMarkedAnswered()
        let counts = ticks.tick()
        #expect(counts == OutcomeCounts(responses: 1, slow: 1))
    }

    @Test func markedThenAbortedCountsOnceAsSlowAndOnceAsAbort() {
        let ticks = Ticks()
        ticks.shard.requestStarted()
        ticks.shard.recordSlowInFlight()
        #expect(ticks.tick().slow == 1)
        // An abort is not in the histogram: nothing is taken back.
        ticks.shard.recordAbort()
        let aborted = ticks.tick()
        #expect(aborted.aborts == 1 && aborted.slow == 0 && aborted.slowPopulation == 0)
        #expect(ticks.total.slow == 1 && ticks.total.aborts == 1 && ticks.total.responses == 0 && ticks.total.slowPopulation == 1)
        #expect(ticks.total[.slow] == 1 && ticks.total[.abort] == 1)
    }

    @Test func unmarkedSlowFromTheHistogramCountsOnce() {
        let ticks = Ticks()
        for latency in [Self.late, Self.fast, Self.fast] {
            ticks.shard.requestStarted()
            ticks.shard.recordResponse(status: 200, latencyNanoseconds: latency, bytesFromClient: 0, bytesToClient: 0)
        }
        #expect(ticks.tick() == OutcomeCounts(responses: 3, slow: 1))
        #expect(ticks.tick() == OutcomeCounts())
    }

    /// Marks, answers of marked requests and plain slow answers mixed over ticks: each slow request once.
    @Test func mixedTicksCountEachSlowRequestOnce() {
        let ticks = Ticks()
        let s = ticks.shard
        for _ in 0..<5 { s.requestStarted() }
        s.recordSlowInFlight(); s.recordSlowInFlight(); s.recordSlowInFlight()  // three hang past T
        s.recordResponse(status: 200, latencyNanoseconds: Self.fast, bytesFromClient: 0, bytesToClient: 0)
        ticks.tick()
        s.recordResponse(status: 503, latencyNanoseconds: Self.late, bytesFromClient: 0, bytesToClient: 0)
        s.recordSlowMarkedAnswered()  // a marked one answered (a 503: also a 5xx)
        s.recordResponse(status: 200, latencyNanoseconds: Self.late, bytesFromClient: 0, bytesToClient: 0)  // slow, never marked
        let mixed = ticks.tick()
        #expect(mixed.serverErrors == 1 && mixed.responses == 2, "the other classes keep the responses: \(mixed)")
        s.recordAbort()  // a marked one gives up
        s.recordResponse(status: 200, latencyNanoseconds: Self.late, bytesFromClient: 0, bytesToClient: 0)
        s.recordSlowMarkedAnswered()
        ticks.tick()
        #expect(ticks.shard.snapshot().inFlight == 0)
        #expect(ticks.total.slow == 4, "3 marked + 1 slow answer never marked: \(ticks.total)")
        #expect(ticks.total.responses == 4 && ticks.total.aborts == 1 && ticks.total.serverErrors == 1)
        #expect(ticks.total.slowPopulation == 5, "4 responses + the marked one that was aborted: \(ticks.total)")
    }

    /// The slow class is not counted without a threshold, and a T raised between mark and answer saturates
    /// rather than going negative or counting twice.
    @Test func noThresholdAndSaturation() {
        let window = ArmWindow(n: 2, failures: 0, histogram: Self.histogram(late: 2), slowInFlight: 1)
        #expect(window.outcomes(slowThreshold: nil).slow == 0)
        #expect(window.outcomes(slowThreshold: nil).slowPopulation == 3)
        // Two marked answers whose latency is under the (raised) T: taken back from nothing.
        let raised = ArmWindow(n: 2, failures: 0, histogram: Self.histogram(late: 0, fast: 2), slowMarkedAnswered: 2)
        #expect(raised.outcomes(slowThreshold: Self.t) == OutcomeCounts(responses: 2, slow: 0, slowPopulation: 0))
        // Clamped at the population.
        #expect(OutcomeCounts(responses: 1, slow: 5, slowPopulation: 3).slow == 3)
        #expect(OutcomeCounts(responses: 4, slow: 5).slow == 4)
    }

    /// Under the sequential judge, a tick where the canary only has requests marked in flight still bets:
    /// the canary's share of the slow class's population is not zero.
    @Test func aCanaryThatOnlyHangsMovesTheSlowEvidence() {
        var judge = SequentialJudge(alpha: 0.01)
        let primary = OutcomeCounts(responses: 30)
        for _ in 0..<6 {
            judge.update(canary: OutcomeCounts(slow: 3, slowPopulation: 3), primary: primary)
            judge.update(canary: OutcomeCounts(), primary: primary)  // closes the episode
        }
        #expect(judge.bets[OutcomeClass.slow.rawValue].canaryBad == 18)
        #expect(judge.logEValue(.slow) > 0, "evidence against a canary that only hangs: \(judge.logEValue(.slow))")
    }

    /// Evidence persisted before `slowPopulation` existed decodes with it equal to the responses.
    @Test func oldStateFilesDecode() throws {
        let old = #"{"responses":7,"aborts":1,"serverErrors":2,"clientErrors":1,"slow":3}"#
        let counts = try JSONDecoder().decode(OutcomeCounts.self, from: Data(old.utf8))
        #expect(counts == OutcomeCounts(responses: 7, aborts: 1, serverErrors: 2, clientErrors: 1, slow: 3))
        #expect(counts.slowPopulation == 7)
        let round = try JSONDecoder().decode(
            OutcomeCounts.self, from: JSONEncoder().encode(OutcomeCounts(responses: 2, slow: 3, slowPopulation: 4)))
        #expect(round == OutcomeCounts(responses: 2, slow: 3, slowPopulation: 4))
    }

    /// A loop records at a proxy's pace (a response every few tens of µs) while the control thread takes a
    /// tick's snapshot after another, as the controller does: snapshots read while a response is being
    /// recorded hold parts of it, and still every slow request is counted once over the ticks — each
    /// tenth request is marked in flight then answered late, each 25th other one answered late unmarked.
    @Test func ticksReadWhileALoopWritesCountEachSlowRequestOnce() throws {
        let registry = MetricsRegistry(loopCount: 1)
        let shard = registry.shard(route: "api", arm: .canary, loop: 0)
        let stop = Atomic<Bool>(false)
        let finished = DispatchSemaphore(value: 0)
        let result = Mutex((ticks: 0, partial: 0, total: OutcomeCounts()))
        Thread.detachNewThread {
            var last = ArmSnapshot(), carry = ArmWindow.SlowCarry()
            var ticks = 0, partial = 0, total = OutcomeCounts()
            var writerDone = false
            while !writerDone {
                writerDone = stop.load(ordering: .acquiring)
                let now = registry.snapshot().route(named: "api")!.canary
                // A view may hold a status without its bucket, never a bucket without its status.
                if now.histogram.count != now.responses { partial += 1 }
                total = total + ArmWindow(now.delta(since: last)).outcomes(slowThreshold: Self.t, carry: &carry)
                last = now
                ticks += 1
                // Ticks a few ms apart (the controller's are 100 ms): a take-back seen early is carried one
                // tick, so a writer preempted between two stores for longer than a tick would defeat it.
                usleep(2_000)
            }
            result.withLock { $0 = (ticks, partial, total) }
            finished.signal()
        }
        var expectedSlow: UInt64 = 0
        for i in 0..<20_000 {
            shard.requestStarted()
            let marked = i % 10 == 0, late = marked || i % 25 == 0
            if marked { shard.recordSlowInFlight() }
            if late { expectedSlow += 1 }
            if marked { shard.recordSlowMarkedAnswered() }
            shard.recordResponse(status: 200, latencyNanoseconds: late ? Self.late : Self.fast, bytesFromClient: 1, bytesToClient: 2)
            usleep(20)
        }
        stop.store(true, ordering: .releasing)
        #expect(finished.wait(timeout: .now() + 30) == .success)
        let (ticks, partial, total) = result.withLock { $0 }
        #expect(ticks > 50)
        #expect(total.responses == 20_000 && total.slowPopulation == 20_000)
        #expect(total.slow == expectedSlow, "\(total.slow) slow counted for \(expectedSlow) (\(ticks) ticks, \(partial) read mid-record)")
    }

    static func histogram(late: UInt64, fast: UInt64 = 0) -> HistogramSnapshot {
        var h = HistogramSnapshot()
        if late > 0 { h.record(nanoseconds: Self.late, times: late) }
        if fast > 0 { h.record(nanoseconds: Self.fast, times: fast) }
        return h
    }
}
