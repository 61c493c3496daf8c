// The request line (RFC 9112 §3): method SP request-target SP HTTP-version, with exactly one SP between parts.

enum RequestLine {
    static func parse(_ p: UnsafeRawBufferPointer, _ line: ByteRange, into head: inout RequestHead) throws(HTTPParseError) {
        let end = line.upperBound
        var i = line.lowerBound
        while i < end && ASCII.isTokenChar(p[i]) { i += 1 }
        let method = ByteRange(lowerBound: line.lowerBound, upperBound: i)
        guard !method.isEmpty, i < end, p[i] == ASCII.sp else { throw .badRequest("invalid method") }
        head.methodRange = method
        head.method = HTTPMethod(p, method)
        // Tunnelling is not what a reverse proxy in front of one service is for.
        if head.method == .connect { throw HTTPParseError(status: 501, reason: "CONNECT is not supported") }

        let targetStart = i + 1
        var j = targetStart
        while j < end && p[j] != ASCII.sp {
            guard isTargetByte(p[j]) else { throw .badRequest("invalid character in request-target") }
            j += 1
        }
        guard j > targetStart else {
            throw .badRequest(j < end ? "extra space in request line" : "missing request-target")
        }
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
              ASCII.isDigit(p[v + 5]), p[v + 6] == UInt8(ascii: "."), ASCII.isDigit(p[v + 7]) else {
            throw .badRequest("invalid HTTP version")
        }
        guard p[v + 5] == UInt8(ascii: "1") else {
            throw HTTPParseError(status: 505, reason: "HTTP version not supported")
        }
        // A higher 1.x minor is compatible with 1.1, and the proxy answers as 1.1.
        return p[v + 7] == UInt8(ascii: "0") ? 0 : 1
    }

    /// origin-form, absolute-form (http/https only) or asterisk-form for OPTIONS (RFC 9112 §3.2).
    private static func parseTarget(_ p: UnsafeRawBufferPointer, _ t: ByteRange, into head: inout RequestHead) throws(HTTPParseError) {
        let first = p[t.lowerBound]
        if first == ASCII.slash {
            head.target = t
        } else if t.count == 1 && first == UInt8(ascii: "*") {
            guard head.method == .options else { throw .badRequest("asterisk-form is only for OPTIONS") }
            head.target = t
        } else if let schemeLength = absoluteSchemeLength(p, t) {
            let authorityStart = t.lowerBound + schemeLength
            var k = authorityStart
            while k < t.upperBound && p[k] != ASCII.slash && p[k] != ASCII.question { k += 1 }
            let authority = ByteRange(lowerBound: authorityStart, upperBound: k)
            guard HostSyntax.isValid(p, authority, allowEmpty: false) else { throw .badRequest("invalid authority in request-target") }
            head.host = authority
            head.target = ByteRange(lowerBound: k, upperBound: t.upperBound)
        } else {
            throw .badRequest("invalid request-target")
        }
        var q = head.target.lowerBound
        while q < head.target.upperBound && p[q] != ASCII.question { q += 1 }
        head.path = ByteRange(lowerBound: head.target.lowerBound, upperBound: q)
    }

    /// The length of a case-insensitive "http://" or "https://" prefix, or nil.
    private static func absoluteSchemeLength(_ p: UnsafeRawBufferPointer, _ t: ByteRange) -> Int? {
        let lo = t.lowerBound
        if t.count >= 7, ASCII.equalsIgnoringCase(p, ByteRange(lowerBound: lo, upperBound: lo + 4), "http") {
            if ASCII.equals(p, ByteRange(lowerBound: lo + 4, upperBound: lo + 7), "://") { return 7 }
            if t.count >= 8, p[lo + 4] | 0x20 == UInt8(ascii: "s"),
               ASCII.equals(p, ByteRange(lowerBound: lo + 5, upperBound: lo + 8), "://") { return 8 }
        }
        return nil
    }

    /// origin-form as this parser accepts it: '/' then target bytes. HTTP/2 `:path` values are held to it too.
    static func isOriginForm(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.first == ASCII.slash && bytes.allSatisfy(isTargetByte)
    }

    /// Visible ASCII except '#': no CTL, SP, DEL, fragment or raw non-ASCII byte can be part of a URI (RFC 3986).
    @inline(__always)
    private static func isTargetByte(_ b: UInt8) -> Bool {
        b > ASCII.sp && b < 0x7F && b != UInt8(ascii: "#")
    }
}
