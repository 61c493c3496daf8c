// When a mirrored pair is done: the primary's exchange and the canary's copy end in any order, and the later one decides.
import HTTP
import Telemetry

/// The two sides of one mirrored request. Events in, an ending out; the slot acts on it.
struct MirrorPair: Equatable {
    enum PrimarySide: Equatable {
        case pending
        /// The whole response reached the client.
        case completed
        /// The exchange ended otherwise (the client went away, the primary failed): nothing to compare with.
        case gone
    }

    enum CanarySide: Equatable {
        case pending
        case answered
        /// It failed or timed out (`MirrorResult.failed`, `.timeout`).
        case failed(MirrorResult)
    }

    enum Ending: Equatable {
        /// The other side is still under way.
        case wait
        /// Both responses are in: compare them, and count a completed mirror.
        case compare
        /// Count the mirror with this result, without a comparison.
        case count(MirrorResult)
    }

    private(set) var primary = PrimarySide.pending
    private(set) var canary = CanarySide.pending

    mutating func primaryEnded(completed: Bool) -> Ending {
        primary = completed ? .completed : .gone
        return ending
    }

    mutating func canaryEnded(_ side: CanarySide) -> Ending {
        canary = side
        return ending
    }

    /// A canary failure counts as such whatever the primary did; an answer is compared only with a
    /// completed primary response.
    private var ending: Ending {
        switch (primary, canary) {
        case (.pending, _), (_, .pending): return .wait
        case (_, .failed(let result)): return .count(result)
        case (.gone, .answered): return .count(.skipped)
        case (.completed, .answered): return .compare
        }
    }
}

/// The body of a request whose head was just parsed, if all of it is in hand and small enough to copy.
enum MirrorRequestBody {
    /// The body's bytes as framed (a chunked body with its chunk lines) at the front of `afterHead`, or
    /// nil when some of it has not arrived yet or it is longer than `maxBytes`.
    static func inHand(framing: BodyFraming, afterHead: UnsafeRawBufferPointer, maxBytes: Int) -> UnsafeRawBufferPointer? {
        switch framing {
        case .none:
            return UnsafeRawBufferPointer(rebasing: afterHead[0..<0])
        case .contentLength(let n):
            guard n <= UInt64(maxBytes), UInt64(afterHead.count) >= n else { return nil }
            return UnsafeRawBufferPointer(rebasing: afterHead[0..<Int(n)])
        case .chunked:
            var scanner = ChunkedScanner()
            guard case .done(let consumed) = scanner.scan(afterHead), consumed <= maxBytes else { return nil }
            return UnsafeRawBufferPointer(rebasing: afterHead[0..<consumed])
        case .untilClose:
            return nil
        }
    }
}
