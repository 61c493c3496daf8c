// What the two HTTP/1.1 head targets (requests, responses) check alike: outcomes across splits and ranges inside a head.
import HTTP

/// Equal results, except that two errors need only agree on the status: a head with two defects may report
/// either (an obs-fold is refused as soon as the folded line's first byte arrives, before the rest of the line).
public func sameOutcome(_ a: RequestHeadParser.Result, _ b: RequestHeadParser.Result) -> Bool {
    if case .error(let x) = a, case .error(let y) = b { return x.status == y.status }
    return a == b
}

/// `r` is a well-formed range within the first `limit` bytes.
public func inBounds(_ r: ByteRange, _ limit: Int) -> Bool { r.lowerBound >= 0 && r.lowerBound <= r.upperBound && r.upperBound <= limit }
