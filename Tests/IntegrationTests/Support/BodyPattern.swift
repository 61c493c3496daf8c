// A deterministic byte stream of any length, generated and verified on the fly (no 50 MB arrays).
import Foundation

/// Byte `i` of the stream is `block[i % period]`. The period is prime, so it never lines up with
/// chunk or buffer sizes and a dropped, duplicated or reordered piece shows up as a mismatch.
/// Verification is a `memcmp` against the block, fast even in debug builds.
enum BodyPattern {
    static let period = 65_521
    /// The block twice, so the `period` bytes starting at any offset `< period` are contiguous.
    static let doubled: [UInt8] = {
        var state: UInt32 = 0x9E37_79B9
        var block = [UInt8](repeating: 0, count: period)
        for i in 0..<period {
            state ^= state << 13; state ^= state >> 17; state ^= state << 5
            block[i] = UInt8(truncatingIfNeeded: state)
        }
        return block + block
    }()

    /// Calls `emit` with consecutive slices of the stream's bytes `[0, count)`, each at most `piece` long.
    static func generate(count: Int, piece: Int = 64 * 1024, _ emit: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        let piece = min(piece, period)
        var offset = 0
        try doubled.withUnsafeBytes { all in
            while offset < count {
                let n = min(piece, count - offset)
                let start = offset % period
                try emit(UnsafeRawBufferPointer(rebasing: all[start..<(start + n)]))
                offset += n
            }
        }
    }

    /// The bytes `[offset, offset + count)` of the stream, as an array (for small bodies).
    static func bytes(offset: Int = 0, count: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(count)
        var at = offset
        while out.count < count {
            let start = at % period
            let n = min(count - out.count, period)
            out += doubled[start..<(start + n)]
            at += n
        }
        return out
    }
}

/// Checks a received stream against the pattern as it arrives: byte count, equality, and an
/// FNV-1a checksum of what came in (reported in failures so two runs can be compared).
struct PatternVerifier: Sendable {
    private(set) var count = 0
    private(set) var firstMismatch: Int?
    private(set) var checksum: UInt64 = 0xcbf2_9ce4_8422_2325
    /// FNV-1a over every byte is slow in debug builds; only the first `checksumLimit` bytes are folded in.
    var checksumLimit = 1 << 20

    init() {}

    var intact: Bool { firstMismatch == nil }

    mutating func consume(_ data: UnsafeRawBufferPointer) {
        guard !data.isEmpty else { return }
        if firstMismatch == nil {
            BodyPattern.doubled.withUnsafeBytes { all in
                var done = 0
                while done < data.count {
                    let start = (count + done) % BodyPattern.period
                    let n = min(data.count - done, BodyPattern.period)
                    if memcmp(data.baseAddress! + done, all.baseAddress! + start, n) != 0 {
                        firstMismatch = count + done
                        break
                    }
                    done += n
                }
            }
        }
        if count < checksumLimit {
            for byte in data.prefix(checksumLimit - count) {
                checksum = (checksum ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
            }
        }
        count += data.count
    }

    mutating func consume(_ bytes: ArraySlice<UInt8>) {
        bytes.withUnsafeBytes { consume($0) }
    }

    var summary: String {
        "count=\(count) intact=\(intact)" + (firstMismatch.map { " firstMismatch=\($0)" } ?? "")
            + " fnv1a(first MiB)=\(String(checksum, radix: 16))"
    }
}

/// nil when equal; otherwise a short description (lengths, first differing offset, a text preview),
/// so a failed expectation does not print two 100 KB arrays.
func byteDiff(_ actual: [UInt8], _ expected: [UInt8]) -> String? {
    if actual == expected { return nil }
    let common = zip(actual, expected).prefix { $0 == $1 }.count
    return "got \(actual.count) bytes, want \(expected.count); first difference at offset \(common); got starts "
        + Array(actual.prefix(60)).text.debugDescription
}
