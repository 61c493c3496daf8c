// The request line (RFC 9112 §3): method SP request-target SP HTTP-version, with exactly one SP between parts.

enum RequestLine {
    static func parse(_ p: UnsafeRawBufferPointer, _ line: ByteRange, into head: inout RequestHead) throws(HTTPParseError) {
        let end = line.upperBound
        var i = line.lowerBound
        while i < end && p[i] != ASCII.sp { i += 1 }
        let method = ByteRange(lowerBound: line.lowerBound, upperBound: i)
        guard i < end else { throw .badRequest("invalid method") }
        head.methodRange = method
        head.method = try RequestRules.method(p, method)

        let targetStart = i + 1
        var j = targetStart
        while j < end && p[j] != ASCII.sp { j += 1 }
        guard j > targetStart else {
            throw .badRequest(j < end ? "extra space in request line" : "missing request-target")
        }
        try RequestRules.targetBytes(p, ByteRange(lowerBound: targetStart, upperBound: j))
        guard j < end else { throw .badRequest("missing HTTP version") }
        head.versionMinor = try parseVersion(p, ByteRange(lowerBound: j + 1, upperBound: end))
        try parseTarget(p, ByteRange(lowerBound: targetStart, upperBound: j), into: &head)
    }

    /// "HTTP/" DIGIT "." DIGIT, case-sensitive (RFC 9112 §2.3).
    private static func parseVersion(_ p: UnsafeRawBufferPointer, _ r: ByteRange) throws(HTTPParseError) -> UInt8 {
        for k in r.lowerBound..<r.upperBound where p[k] == ASCII.sp {
            throw .badRequest("extra space in request line")
        }
        let v = r.lowerBound
        guard r.count == 8, ASCII.equals(p, ByteRange(lowerBound: v, upperBound: v + 5), "HTTP/"),
            ASCII.isDigit(p[v + 5]), p[v + 6] == UInt8(ascii: "."), ASCII.isDigit(p[v + 7])
        else {
            throw .badRequest("invalid HTTP version")
        }
        guard p[v + 5] == UInt8(ascii: "1") else {
            throw HTTPParseError(status: 505, reason: "HTTP version not supported")
        }
        // A higher 1.x minor is compatible with 1.1, and the proxy answers as 1.1.
        return p[v + 7] == UInt8(ascii: "0") ? 0 : 1
    }

    /// Records the target's parts by its form (RequestRules.targetForm).
    private static func parseTarget(_ p: UnsafeRawBufferPointer, _ t: ByteRange, into head: inout RequestHead) throws(HTTPParseError) {
        switch try RequestRules.targetForm(p, t, method: head.method) {
        case .origin, .asterisk:
            head.target = t
        case .absolute(let authority, let rest):
            head.host = authority
            head.target = rest
        }
        var q = head.target.lowerBound
        while q < head.target.upperBound && p[q] != ASCII.question { q += 1 }
        head.path = ByteRange(lowerBound: head.target.lowerBound, upperBound: q)
    }
}
