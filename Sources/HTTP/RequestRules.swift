// The checks a request's method, target, authority and fields get whichever protocol carried them: the HTTP/1.1 parser and HTTP/2 streams call these.

/// One implementation, so that a request the HTTP/1.1 parser refuses cannot reach an upstream by
/// arriving over HTTP/2 instead (where the upstream would still see it as an HTTP/1.1 request line
/// and Host). Every check throws the error the client is answered with.
public enum RequestRules {
    /// What a request-target turned out to be (RFC 9112 §3.2).
    enum TargetForm: Equatable {
        /// Starts with "/": a path and an optional query.
        case origin
        /// "*", for OPTIONS.
        case asterisk
        /// "http://authority/path": `authority` and `rest` (the path and query, maybe empty) are ranges of it.
        case absolute(authority: ByteRange, rest: ByteRange)
    }

    /// A method is a non-empty token; CONNECT is refused (tunnelling is not what a reverse proxy in
    /// front of one service is for).
    static func method(_ p: UnsafeRawBufferPointer, _ r: ByteRange) throws(HTTPParseError) -> HTTPMethod {
        guard !r.isEmpty, isToken(p, r) else { throw .badRequest("invalid method") }
        let method = HTTPMethod(p, r)
        if method == .connect { throw HTTPParseError(status: 501, reason: "CONNECT is not supported") }
        return method
    }

    /// The bytes of a request-target: visible ASCII except '#' — no CTL, SP, DEL, fragment or raw
    /// non-ASCII byte can be part of a URI (RFC 3986), and an upstream could split on any of them.
    static func targetBytes(_ p: UnsafeRawBufferPointer, _ t: ByteRange) throws(HTTPParseError) {
        for k in t.lowerBound..<t.upperBound where !isTargetByte(p[k]) {
            throw .badRequest("invalid character in request-target")
        }
    }

    /// origin-form, absolute-form (http/https only, with a valid authority) or asterisk-form for OPTIONS.
    static func targetForm(_ p: UnsafeRawBufferPointer, _ t: ByteRange, method: HTTPMethod) throws(HTTPParseError) -> TargetForm {
        guard !t.isEmpty else { throw .badRequest("missing request-target") }
        let first = p[t.lowerBound]
        if first == ASCII.slash { return .origin }
        if t.count == 1 && first == UInt8(ascii: "*") {
            guard method == .options else { throw .badRequest("asterisk-form is only for OPTIONS") }
            return .asterisk
        }
        guard let schemeLength = absoluteSchemeLength(p, t) else { throw .badRequest("invalid request-target") }
        let authorityStart = t.lowerBound + schemeLength
        var k = authorityStart
        while k < t.upperBound && p[k] != ASCII.slash && p[k] != ASCII.question { k += 1 }
        let authority = ByteRange(lowerBound: authorityStart, upperBound: k)
        guard HostSyntax.isValid(p, authority, allowEmpty: false) else { throw .badRequest("invalid authority in request-target") }
        return .absolute(authority: authority, rest: ByteRange(lowerBound: k, upperBound: t.upperBound))
    }

    /// A Host field value or an HTTP/2 `:authority` (see HostSyntax; empty means "no authority").
    static func host(_ p: UnsafeRawBufferPointer, _ r: ByteRange) throws(HTTPParseError) {
        guard HostSyntax.isValid(p, r, allowEmpty: true) else { throw .badRequest("invalid host") }
    }

    /// A field name is a non-empty token.
    static func fieldName(_ p: UnsafeRawBufferPointer, _ r: ByteRange) throws(HTTPParseError) {
        guard !r.isEmpty else { throw .badRequest("empty field name") }
        guard isToken(p, r) else { throw .badRequest("invalid character in field name") }
    }

    /// A field value (without its surrounding whitespace) holds no CTL but HTAB, and no DEL. Inlined:
    /// it runs once per field line, and the call cost 20 instructions of its ~40 (callgrind).
    @inline(__always)
    static func fieldValue(_ p: UnsafeRawBufferPointer, _ r: ByteRange) throws(HTTPParseError) {
        let bad = ASCII.firstNonFieldValueByte(p, from: r.lowerBound, to: r.upperBound)
        if bad < r.upperBound { throw fieldValueError(p[bad]) }
    }

    private static func fieldValueError(_ byte: UInt8) -> HTTPParseError {
        switch byte {
        case ASCII.cr: .badRequest("CR in field value")
        case 0: .badRequest("NUL in field value")
        default: .badRequest("control character in field value")
        }
    }

    /// The length of a case-insensitive "http://" or "https://" prefix, or nil.
    private static func absoluteSchemeLength(_ p: UnsafeRawBufferPointer, _ t: ByteRange) -> Int? {
        let lo = t.lowerBound
        if t.count >= 7, ASCII.equalsIgnoringCase(p, ByteRange(lowerBound: lo, upperBound: lo + 4), "http") {
            if ASCII.equals(p, ByteRange(lowerBound: lo + 4, upperBound: lo + 7), "://") { return 7 }
            if t.count >= 8, p[lo + 4] | 0x20 == UInt8(ascii: "s"),
                ASCII.equals(p, ByteRange(lowerBound: lo + 5, upperBound: lo + 8), "://")
            {
                return 8
            }
        }
        return nil
    }

    @inline(__always)
    static func isTargetByte(_ b: UInt8) -> Bool {
        b > ASCII.sp && b < 0x7F && b != UInt8(ascii: "#")
    }

    private static func isToken(_ p: UnsafeRawBufferPointer, _ r: ByteRange) -> Bool {
        for k in r.lowerBound..<r.upperBound where !ASCII.isTokenChar(p[k]) { return false }
        return true
    }
}

/// The rules applied to a request head that arrives as decoded fields (an HTTP/2 stream), one field
/// at a time: pseudo-fields as the request line's parts, `host` and the other fields as HTTP/1.1
/// field lines. The decoder has already refused what HTTP/2 itself forbids (upper-case names,
/// connection-specific fields, unknown or repeated pseudo-fields); these are the HTTP/1.1 parser's
/// checks that an HTTP/2 decoder does not make (measured with nghttp2 1.52: '#' and raw non-ASCII
/// bytes in `:path`, userinfo in `:authority`, any `:path` under a scheme other than http/https).
public struct DecodedRequestRules: Sendable {
    private var hostFields = 0

    public init() {}

    public mutating func reset() {
        hostFields = 0
    }

    /// Checks one request field (not a trailer); throws what the stream is answered with.
    public mutating func check(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) throws(HTTPParseError) {
        let v = ByteRange(lowerBound: 0, upperBound: value.count)
        if name.first == UInt8(ascii: ":") {
            switch name.count {
            case 5 where equal(name, ":path"):
                // Its form depends on `:method`, which may come later: see `checkTarget`.
                try RequestRules.targetBytes(value, v)
            case 7 where equal(name, ":method"):
                // CONNECT is judged once the head is complete: with `:protocol` it may be an extended
                // CONNECT the proxy relays (ExtendedConnect), without it the same 501 as over HTTP/1.1.
                if !equal(value, "CONNECT") { _ = try RequestRules.method(value, v) }
            case 7 where equal(name, ":scheme"):
                // The request goes on as http or https (X-Forwarded-Proto); absolute-form allows only these too.
                guard equalIgnoringCase(value, "http") || equalIgnoringCase(value, "https") else {
                    throw .badRequest("unsupported :scheme")
                }
            case 10 where equal(name, ":authority"):
                try RequestRules.host(value, v)
            default:
                break
            }
            return
        }
        let n = ByteRange(lowerBound: 0, upperBound: name.count)
        try RequestRules.fieldName(name, n)
        try RequestRules.fieldValue(value, v)
        if name.count == 4 && equalIgnoringCase(name, "host") {
            hostFields += 1
            // Two Hosts could route one way here and another way upstream (RFC 9110 §7.2: MUST reject).
            guard hostFields == 1 else { throw .badRequest("more than one host field") }
            try RequestRules.host(value, v)
        }
    }

    /// The form of `:path`, once the whole head (and so `:method`) is known: origin-form, or "*" for
    /// OPTIONS. HTTP/2 carries the authority in `:authority`, so an absolute-form `:path` is refused
    /// (RFC 9113 §8.3.1).
    public func checkTarget(path: UnsafeRawBufferPointer, method: HTTPMethod) throws(HTTPParseError) {
        if case .absolute = try RequestRules.targetForm(path, ByteRange(lowerBound: 0, upperBound: path.count), method: method) {
            throw .badRequest("invalid request-target")
        }
    }

    private func equal(_ bytes: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
        ASCII.equals(bytes, ByteRange(lowerBound: 0, upperBound: bytes.count), literal)
    }

    private func equalIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
        ASCII.equalsIgnoringCase(bytes, ByteRange(lowerBound: 0, upperBound: bytes.count), literal)
    }
}
