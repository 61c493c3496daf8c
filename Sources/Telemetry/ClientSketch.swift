// Distinct clients and requests per arm of a sticky route, over the recent window: one loop's bitmaps, merged at scrape.
import Glibc
import Synchronization

/// Session affinity gives every client a uniform random 32-bit position; a client's requests all
/// carry it. The loop sets bit `position mod 16384` in its arm's bitmap, and a reader estimates the
/// distinct clients from the share of bits left zero (linear counting: n ≈ −m·ln(zeros/m), standard
/// error under 1% of n up to ~20,000 clients per arm and window, usable to ~100,000; a full bitmap
/// reads as "at least m·ln m"). No set of clients is kept, and a request costs a load, a test and
/// at most one store.
///
/// **Window.** Two generations of `window` each: the loop writes the current one and, when it is a
/// window old, clears the other and makes it current. Readers merge the current and the previous
/// generation of every loop (a union of bitmaps, a sum of request counts) and skip one older than two
/// windows (a loop that saw no request for that long), so figures cover the last one to two minutes.
///
/// **Single writer**, as `ArmShard`: only the owning loop writes, relaxed loads and stores; a reader
/// racing a rotation may count a few bits of the generation being cleared.
public final class ClientSketch: Sendable {
    public static let bits = 16384
    static let wordsPerArm = bits / 64
    /// One minute, in the loops' monotonic nanoseconds.
    public static let window: UInt64 = 60_000_000_000

    /// `[generation][arm][word]`, arm 0 the primary and 1 the canary.
    let words: InlineArray<1024, Atomic<UInt64>>
    /// `[generation][arm]`.
    let requests: InlineArray<4, Atomic<UInt64>>
    /// When each generation became current, plus 1 (0: never).
    let started: InlineArray<2, Atomic<UInt64>>
    let current = Atomic<Int>(0)

    public init() {
        words = InlineArray { _ in Atomic(0) }
        requests = InlineArray { _ in Atomic(0) }
        started = InlineArray { _ in Atomic(0) }
        precondition(words.count == 4 * Self.wordsPerArm)
    }

    /// A request of a client at `position` was given the canary (or the primary) at `now`.
    @inline(__always)
    public func note(position: UInt32, canary: Bool, now: UInt64) {
        var g = current.load(ordering: .relaxed)
        let start = started[g].load(ordering: .relaxed)
        if start == 0 || now &+ 1 &- start >= Self.window { g = rotate(now: now) }
        let arm = canary ? 1 : 0
        let bit = Int(position) & (Self.bits - 1)
        let word = (g * 2 + arm) * Self.wordsPerArm + bit >> 6
        let mask = UInt64(1) << UInt64(bit & 63)
        let old = words[word].load(ordering: .relaxed)
        if old & mask == 0 { words[word].store(old | mask, ordering: .relaxed) }
        ArmShard.add(requests[g * 2 + arm], 1)
    }

    /// The current generation is a window old: the other one (older still) is cleared and becomes current.
    private func rotate(now: UInt64) -> Int {
        let next = 1 - current.load(ordering: .relaxed)
        for i in (next * 2 * Self.wordsPerArm)..<((next + 1) * 2 * Self.wordsPerArm) { words[i].store(0, ordering: .relaxed) }
        requests[next * 2].store(0, ordering: .relaxed)
        requests[next * 2 + 1].store(0, ordering: .relaxed)
        started[next].store(now &+ 1, ordering: .relaxed)
        current.store(next, ordering: .relaxed)
        return next
    }

    /// Adds this loop's recent generations to `merged`.
    func merge(into merged: inout ClientCounts.Accumulator, now: UInt64) {
        for g in 0..<2 {
            let start = started[g].load(ordering: .relaxed)
            guard start != 0, now &+ 1 &- start < 2 * Self.window else { continue }
            for arm in 0..<2 {
                merged.requests[arm] &+= requests[g * 2 + arm].load(ordering: .relaxed)
                for w in 0..<Self.wordsPerArm {
                    merged.bitmaps[arm][w] |= words[(g * 2 + arm) * Self.wordsPerArm + w].load(ordering: .relaxed)
                }
            }
        }
    }
}

/// A sticky route's recent clients and requests per arm, all loops (`MetricsRegistry.clientCounts`).
public struct ClientCounts: Sendable, Equatable {
    /// Estimated distinct clients (linear counting, see `ClientSketch`).
    public var primaryClients: Double
    public var canaryClients: Double
    public var primaryRequests: UInt64
    public var canaryRequests: UInt64

    public init(primaryClients: Double, canaryClients: Double, primaryRequests: UInt64, canaryRequests: UInt64) {
        self.primaryClients = primaryClients
        self.canaryClients = canaryClients
        self.primaryRequests = primaryRequests
        self.canaryRequests = canaryRequests
    }

    /// The canary's share of clients, nil before any.
    public var canaryClientShare: Double? {
        let total = primaryClients + canaryClients
        return total > 0 ? canaryClients / total : nil
    }

    /// The canary's share of requests, nil before any.
    public var canaryRequestShare: Double? {
        let total = primaryRequests + canaryRequests
        return total > 0 ? Double(canaryRequests) / Double(total) : nil
    }

    /// Linear counting over `bits` bits of which `zeros` are still 0; a full bitmap gives its bound m·ln m.
    public static func estimate(zeros: Int, bits: Int) -> Double {
        let m = Double(bits)
        return zeros == 0 ? m * log(m) : -m * log(Double(zeros) / m)
    }

    struct Accumulator {
        var bitmaps = [[UInt64]](repeating: [UInt64](repeating: 0, count: ClientSketch.wordsPerArm), count: 2)
        var requests: [UInt64] = [0, 0]

        var counts: ClientCounts {
            func clients(_ arm: Int) -> Double {
                let ones = bitmaps[arm].reduce(0) { $0 + $1.nonzeroBitCount }
                return ClientCounts.estimate(zeros: ClientSketch.bits - ones, bits: ClientSketch.bits)
            }
            return ClientCounts(
                primaryClients: clients(0), canaryClients: clients(1), primaryRequests: requests[0], canaryRequests: requests[1])
        }
    }
}

extension MetricsRegistry {
    /// The sketch `loop` writes for the sticky route `route`, created on first use (kept across reloads).
    public func clientSketch(route: String, loop: Int) -> ClientSketch {
        precondition(loop >= 0 && loop < loopCount, "loop index out of range")
        return clientSketches.withLock { all in
            if let existing = all[route] { return existing[loop] }
            let created = (0..<loopCount).map { _ in ClientSketch() }
            all[route] = created
            return created[loop]
        }
    }

    /// The route's recent clients and requests per arm (`now` on the loops' monotonic clock); nil for a
    /// route that never had session affinity.
    public func clientCounts(route: String, now: UInt64) -> ClientCounts? {
        guard let sketches = clientSketches.withLock({ $0[route] }) else { return nil }
        var merged = ClientCounts.Accumulator()
        for sketch in sketches { sketch.merge(into: &merged, now: now) }
        return merged.counts
    }
}
