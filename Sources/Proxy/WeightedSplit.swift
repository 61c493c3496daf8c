// The primary/canary pick: randomly permuted blocks of 100, random per request and exact per block.

/// Each block is 100 slots of which exactly `weight` are the canary's, dealt in random order: a
/// request goes to the canary with probability (canary slots left) / (slots left), which draws a
/// uniform permutation of the block without storing it. So the arm of a request owes nothing to
/// request order — a deterministic pick (every k-th request) would send all of one path to one arm
/// when a client alternates paths — and yet every completed block at one weight holds exactly
/// `weight` canary requests; a run of requests is off only by the two part-blocks at its ends.
/// A weight change starts a new block at once, so the new weight holds from the next request.
public struct WeightedSplit: Sendable {
    /// wyrand (Wang Yi's): an add and a 64×64→128 multiply per draw, period 2^64; its state is
    /// inline, so the hot path takes no lock and allocates nothing.
    private var state: UInt64
    /// The weight the current block was dealt at; -1 before the first request.
    private var blockWeight = -1
    private var remainingSlots = 0
    private var remainingCanary = 0

    /// A fixed seed gives a fixed sequence (tests); loops seed each route from the system's generator.
    public init(seed: UInt64) { state = seed }

    public init() {
        var system = SystemRandomNumberGenerator()
        self.init(seed: system.next())
    }

    /// True when this request goes to the canary. `weight` is 0...100.
    @inline(__always)
    public mutating func pickCanary(weight: Int) -> Bool {
        if weight != blockWeight || remainingSlots == 0 {
            blockWeight = weight
            remainingSlots = 100
            remainingCanary = weight
        }
        // Multiply-shift maps the 64-bit draw onto 0..<remainingSlots; the bias is under 100 / 2^64.
        let draw = nextRandom().multipliedFullWidth(by: UInt64(truncatingIfNeeded: remainingSlots)).high
        let canary = Int(truncatingIfNeeded: draw) < remainingCanary
        remainingSlots -= 1
        if canary { remainingCanary -= 1 }
        return canary
    }

    /// A uniform 32-bit draw from the same generator (a sticky client's position).
    public mutating func drawPosition() -> UInt32 { UInt32(truncatingIfNeeded: nextRandom() >> 32) }

    @inline(__always)
    private mutating func nextRandom() -> UInt64 {
        state &+= 0xa076_1d64_78bd_642f
        let product = state.multipliedFullWidth(by: state ^ 0xe703_7ed1_a0b4_28db)
        return product.high ^ product.low
    }
}
