// How much of a message body is still to be relayed, by framing: a length countdown, a chunked scanner, or until close.
import HTTP

enum BodyProgress {
    case none
    case length(remaining: UInt64)
    case chunked(ChunkedScanner, done: Bool)
    case untilClose

    init(_ framing: BodyFraming) {
        switch framing {
        case .none, .contentLength(0): self = .none
        case .contentLength(let n): self = .length(remaining: n)
        case .chunked: self = .chunked(ChunkedScanner(), done: false)
        case .untilClose: self = .untilClose
        }
    }

    /// Every body byte has been classified (for chunked: the terminating chunk and trailers seen).
    var isFullyClassified: Bool {
        switch self {
        case .none: return true
        case .length(let r): return r == 0
        case .chunked(_, let done): return done
        case .untilClose: return false
        }
    }

    /// Classifies bytes that follow the `alreadyPending` bytes of `available` as body; returns how many more
    /// bytes now belong to the body, or the framing error.
    mutating func classify(_ available: UnsafeRawBufferPointer, alreadyPending: Int) -> Result<Int, HTTPParseError> {
        let fresh = available.count - alreadyPending
        guard fresh > 0 else { return .success(0) }
        switch self {
        case .none:
            return .success(0)
        case .length(let remaining):
            // `remaining` counts bytes not yet classified, so it shrinks as bytes become pending.
            let n = Int(min(UInt64(fresh), remaining))
            self = .length(remaining: remaining - UInt64(n))
            return .success(n)
        case .chunked(var scanner, let done):
            if done { return .success(0) }
            let slice = UnsafeRawBufferPointer(rebasing: available[alreadyPending...])
            switch scanner.scan(slice) {
            case .needMore(let consumed):
                self = .chunked(scanner, done: false)
                return .success(consumed)
            case .done(let consumed):
                self = .chunked(scanner, done: true)
                return .success(consumed)
            case .error(let e):
                return .failure(e)
            }
        case .untilClose:
            return .success(fresh)
        }
    }
}
