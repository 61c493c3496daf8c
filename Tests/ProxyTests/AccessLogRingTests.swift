// The access log's ring: lines in order across the wrap, a full ring drops and counts, bounded, consistent between two threads; sampling.
import Foundation
@testable import Proxy
import Testing

@Suite struct AccessLogRingTests {
    /// Publishes `text` as one line; false when the ring dropped it.
    @discardableResult
    private func put(_ ring: AccessLogRing, _ text: String) -> Bool {
        guard let base = ring.reserve() else { return false }
        let bytes = Array(text.utf8)
        bytes.withUnsafeBytes { base.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
        _ = ring.commit(bytes.count)
        return true
    }

    private func take(_ ring: AccessLogRing, limit: Int = .max) -> String {
        var out: [UInt8] = []
        _ = ring.drain(limit: limit) { out.append(contentsOf: $0) }
        return String(decoding: out, as: UTF8.self)
    }

    @Test func linesComeOutInOrderAcrossTheEndOfTheStorage() {
        let ring = AccessLogRing(capacity: 64, maxLine: 16)
        var expected = ""
        var got = ""
        for i in 0..<100 {
            let line = "line \(i)\n"
            #expect(put(ring, line))
            expected += line
            if i % 3 == 2 { got += take(ring) }
        }
        got += take(ring)
        #expect(got == expected)
        #expect(ring.dropped == 0)
    }

    @Test func aFullRingDropsAndCountsWithoutOverwriting() {
        let ring = AccessLogRing(capacity: 64, maxLine: 16)
        var accepted = 0
        for i in 0..<10 where put(ring, "abcdefghij\(i)\n") { accepted += 1 }
        // Room is kept for a line of the largest size: 64 − 16 = 48 bytes of 12-byte lines is 4, plus the one that crosses.
        #expect(accepted == 5)
        #expect(ring.dropped == 5)
        #expect(ring.pendingBytes == 60)
        #expect(take(ring) == (0..<5).map { "abcdefghij\($0)\n" }.joined())
        #expect(put(ring, "again\n") && take(ring) == "again\n")
    }

    @Test func aDrainTakesNoMoreThanItsLimit() {
        let ring = AccessLogRing(capacity: 64, maxLine: 16)
        put(ring, "0123456789\n")
        #expect(take(ring, limit: 4) == "0123")
        #expect(take(ring) == "456789\n")
    }

    @Test func theProducerIsWokenOnceWhenTheRingPassesAQuarter() {
        let ring = AccessLogRing(capacity: 256, maxLine: 16)
        var wakes = 0
        for _ in 0..<12 {
            guard let base = ring.reserve() else { break }
            base.initializeMemory(as: UInt8.self, repeating: 65, count: 10)
            if ring.commit(10) { wakes += 1 }
        }
        #expect(wakes == 1)
    }

    /// One producer thread, one consumer thread: every line arrives whole and in order, or is counted dropped.
    @Test func twoThreadsSeeEveryPublishedLineWholeAndInOrder() async throws {
        let ring = AccessLogRing(capacity: 4096, maxLine: 64)
        let total = 200_000
        let producer = Thread {
            for i in 0..<total {
                while true {
                    if let base = ring.reserve() {
                        let line = Array("\(i) \(String(repeating: "x", count: i % 40))\n".utf8)
                        line.withUnsafeBytes { base.copyMemory(from: $0.baseAddress!, byteCount: line.count) }
                        _ = ring.commit(line.count)
                        break
                    }
                }
            }
        }
        producer.start()
        var buffer: [UInt8] = []
        var next = 0
        var bad = 0
        let deadline = Date().addingTimeInterval(60)
        while next < total && Date() < deadline {
            _ = ring.drain(limit: 1000) { buffer.append(contentsOf: $0) }
            while let newline = buffer.firstIndex(of: 10) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                if line != "\(next) \(String(repeating: "x", count: next % 40))" { bad += 1 }
                next += 1
            }
        }
        #expect(next == total)
        #expect(bad == 0)
        #expect(ring.pendingBytes == 0)
    }

    @Test func sampleLogsItsFractionOfOrdinaryRequests() {
        var sampler = AccessLogSampler(fraction: 0.1)
        let logged = (0..<1000).filter { _ in sampler.admits(alwaysLogged: false) }.count
        #expect(logged == 100)
        var quarter = AccessLogSampler(fraction: 0.25)
        #expect((0..<300).filter { _ in quarter.admits(alwaysLogged: false) }.count == 75)
        // The fraction counts in millionths: a third logs 99 of 300 (0.333333 × 300 = 99.9999).
        var third = AccessLogSampler(fraction: 1.0 / 3)
        #expect((0..<300).filter { _ in third.admits(alwaysLogged: false) }.count == 99)
    }

    @Test func failuresAreAlwaysLoggedAndDoNotSpendTheShare() {
        var sampler = AccessLogSampler(fraction: 0.01)
        #expect((0..<50).allSatisfy { _ in sampler.admits(alwaysLogged: true) })
        #expect((0..<99).filter { _ in sampler.admits(alwaysLogged: false) }.isEmpty)
        let hundredth = sampler.admits(alwaysLogged: false)
        #expect(hundredth)
        var all = AccessLogSampler(fraction: 1)
        #expect((0..<10).allSatisfy { _ in all.admits(alwaysLogged: false) })
    }
}
