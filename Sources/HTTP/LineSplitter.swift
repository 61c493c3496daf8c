// Finds the CRLF-terminated lines of a head incrementally, resuming where the previous call stopped.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

struct LineSplitter: Sendable {
    /// Offset of the first byte of the line not yet returned; after the head, its length.
    private(set) var lineStart = 0
    /// Where the search for LF resumes: bytes before it (in the current line) are known not to be LF,
    /// so feeding a long line in small pieces stays O(bytes).
    private var searchFrom = 0

    /// The next complete line within `p[..<limit]`, without its CRLF, or nil when there is none yet.
    /// memchr once per line is ~3x faster than a byte loop on typical heads.
    mutating func next(in p: UnsafeRawBufferPointer, limit: Int) throws(HTTPParseError) -> ByteRange? {
        guard searchFrom < limit, let base = p.baseAddress else { return nil }
        guard let hit = memchr(base + searchFrom, Int32(ASCII.lf), limit - searchFrom) else {
            searchFrom = limit
            return nil
        }
        let lf = UnsafeRawPointer(hit) - base
        // Only CRLF ends a line: a bare LF is a classic request-smuggling vector (RFC 9112 §2.2 allows rejecting it).
        guard lf > lineStart, p[lf - 1] == ASCII.cr else { throw .badRequest("bare LF as line terminator") }
        let line = ByteRange(lowerBound: lineStart, upperBound: lf - 1)
        lineStart = lf + 1
        searchFrom = lf + 1
        return line
    }

    /// Whether the incomplete line already received starts with whitespace: an obs-fold, reported before its end arrives.
    func pendingLineStartsWithWhitespace(_ p: UnsafeRawBufferPointer, limit: Int) -> Bool {
        lineStart < limit && ASCII.isOWS(p[lineStart])
    }
}
