// Cut points derived from the input itself: a saved crash reproduces from its file alone, with no hidden seed.

public enum Splits {
    /// Sorted, distinct offsets in 1..<count at which to cut `input`, a different schedule for each `round`.
    /// Round 0 cuts after every byte of a short input and at 64 even steps of a long one (each cut re-parses
    /// a prefix, so more would make a long input quadratic); the others cut at pseudo-random points.
    public static func cuts(of input: UnsafeRawBufferPointer, round: UInt64) -> [Int] {
        let count = input.count
        guard count > 1 else { return [] }
        if round == 0 { return count <= 256 ? Array(1..<count) : stride(from: count / 64, to: count, by: count / 64).map { $0 } }
        // FNV-1a over the bytes, then xorshift: cheap, deterministic, and every input gets its own schedule.
        var state: UInt64 = 0xcbf2_9ce4_8422_2325 ^ (round &* 0x9e37_79b9_7f4a_7c15)
        for b in input {
            state = (state ^ UInt64(b)) &* 0x100_0000_01b3
        }
        var cuts: Set<Int> = []
        let wanted = 1 + Int(state % UInt64(min(count, 16)))
        for _ in 0..<wanted {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            cuts.insert(1 + Int(state % UInt64(count - 1)))
        }
        return cuts.sorted()
    }
}
