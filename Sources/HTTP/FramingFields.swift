// Collects the fields that decide framing and persistence (Content-Length, Transfer-Encoding, Connection) as a head is parsed.

struct FramingFields: Sendable {
    private(set) var contentLength: UInt64?
    private(set) var hasTransferEncoding = false
    private var sawChunked = false
    private var sawOtherCoding = false
    private(set) var connectionClose = false
    private var connectionKeepAlive = false
    /// A Connection option "upgrade" was seen: the request may ask to switch protocols (see UpgradeRules).
    private(set) var connectionUpgrade = false
    /// A Connection option other than "keep-alive" was seen: it may name a field to drop. ("keep-alive"
    /// names the Keep-Alive field, hop-by-hop already, so the common `Connection: keep-alive` costs no walk.)
    private(set) var nominatesFields = false

    /// Records `field` if it is Content-Length, Transfer-Encoding or Connection, and returns it as the head stores it.
    /// One Content-Length field with the canonical value goes on; a repeat (already checked equal) is marked
    /// hop-by-hop, so it is dropped.
    mutating func add(
        _ p: UnsafeRawBufferPointer, _ field: FieldLine, _ known: WellKnownField, inRequest: Bool
    ) throws(HTTPParseError) -> HeaderField {
        var value = field.value
        var repeated = false
        switch known {
        case .contentLength:
            repeated = contentLength != nil
            value = try addContentLength(p, field.value)
        case .transferEncoding: try addTransferEncoding(p, field.value)
        case .connection: try addConnection(p, field.value)
        default: break
        }
        return HeaderField(
            name: field.name, value: value, isHopByHop: repeated || known.isHopByHop(inRequest: inRequest), wellKnown: known)
    }

    /// Content-Length = 1*DIGIT, possibly received as a list of identical values ("5, 5") or repeated fields
    /// (RFC 9112 §6.3 ¶5); anything else is an unrecoverable framing error. Returns the canonical value
    /// within `value`: the first element's digits without leading zeros, which is what gets relayed (one
    /// field, one value: a recipient that rejects lists, or reads "010" as octal, reads the same length).
    mutating func addContentLength(_ p: UnsafeRawBufferPointer, _ value: ByteRange) throws(HTTPParseError) -> ByteRange {
        var i = value.lowerBound
        let end = value.upperBound
        guard i < end else { throw .badRequest("empty content-length") }
        var canonical: ByteRange?
        while true {
            guard i < end, ASCII.isDigit(p[i]) else { throw .badRequest("malformed content-length") }
            var n: UInt64 = 0
            let start = i
            while i < end && ASCII.isDigit(p[i]) {
                let (times10, o1) = n.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times10.addingReportingOverflow(UInt64(p[i] - UInt8(ascii: "0")))
                guard !o1 && !o2 else { throw .badRequest("content-length overflows") }
                n = sum
                i += 1
            }
            if let previous = contentLength, previous != n { throw .badRequest("differing content-length values") }
            contentLength = n
            if canonical == nil {
                var first = start
                while first < i - 1 && p[first] == UInt8(ascii: "0") { first += 1 }
                canonical = ByteRange(lowerBound: first, upperBound: i)
            }
            while i < end && ASCII.isOWS(p[i]) { i += 1 }
            if i == end { return canonical! }
            guard p[i] == ASCII.comma else { throw .badRequest("malformed content-length") }
            i += 1
            while i < end && ASCII.isOWS(p[i]) { i += 1 }
        }
    }

    /// Transfer-Encoding is a list of codings that may span several fields. chunked must be the last and appear once
    /// (RFC 9112 §6.1); those two rules are checked as soon as they break, the rest by `checkTransferCodings`.
    mutating func addTransferEncoding(_ p: UnsafeRawBufferPointer, _ value: ByteRange) throws(HTTPParseError) {
        hasTransferEncoding = true
        try FramingFields.forEachListElement(p, value) { (element) throws(HTTPParseError) in
            var nameEnd = element.lowerBound
            while nameEnd < element.upperBound && ASCII.isTokenChar(p[nameEnd]) { nameEnd += 1 }
            var rest = nameEnd
            while rest < element.upperBound && ASCII.isOWS(p[rest]) { rest += 1 }
            guard nameEnd > element.lowerBound, rest == element.upperBound || p[rest] == ASCII.semicolon else {
                throw .badRequest("invalid transfer-coding")
            }
            // "chunked" with parameters is not the chunked coding: it falls to the unknown-coding rules.
            let isChunked = ASCII.equalsIgnoringCase(p, element, "chunked")
            if sawChunked {
                throw .badRequest(isChunked ? "chunked listed twice" : "chunked is not the final transfer-coding")
            }
            if isChunked { sawChunked = true } else { sawOtherCoding = true }
        }
    }

    /// The verdict on the whole Transfer-Encoding list once the head is complete.
    func checkTransferCodings() throws(HTTPParseError) {
        guard hasTransferEncoding else { return }
        // Without chunked last, a request's length cannot be known (RFC 9112 §6.3 ¶4).
        guard sawChunked else { throw .badRequest("final transfer-coding is not chunked") }
        // The proxy relays chunked bytes verbatim and re-declares only "chunked" upstream, so it cannot carry others.
        guard !sawOtherCoding else { throw HTTPParseError(status: 501, reason: "unsupported transfer-coding") }
    }

    /// Connection options are tokens; "close" and "keep-alive" set persistence, every option names a hop-by-hop field.
    mutating func addConnection(_ p: UnsafeRawBufferPointer, _ value: ByteRange) throws(HTTPParseError) {
        try FramingFields.forEachListElement(p, value) { (option) throws(HTTPParseError) in
            for k in option.lowerBound..<option.upperBound where !ASCII.isTokenChar(p[k]) {
                throw .badRequest("invalid connection option")
            }
            if ASCII.equalsIgnoringCase(p, option, "keep-alive") {
                connectionKeepAlive = true
                return
            }
            if ASCII.equalsIgnoringCase(p, option, "close") { connectionClose = true }
            if ASCII.equalsIgnoringCase(p, option, "upgrade") { connectionUpgrade = true }
            nominatesFields = true
        }
    }

    /// HTTP/1.1 persists unless told to close; HTTP/1.0 only when asked to keep alive (RFC 9112 §9.3).
    func keepAlive(versionMinor: UInt8) -> Bool {
        if connectionClose { return false }
        return versionMinor >= 1 || connectionKeepAlive
    }

    /// Marks the fields named by Connection options as hop-by-hop (RFC 9110 §7.6.1).
    /// Content-Length and Host are never dropped this way: "Connection: content-length" would otherwise strip a
    /// body's framing on the way upstream and let its bytes be read as the next request.
    static func markNominatedFields(_ headers: inout [HeaderField], in p: UnsafeRawBufferPointer) {
        for c in headers.indices where headers[c].wellKnown == .connection {
            let list = headers[c].value
            forEachListElement(p, list) { option in
                for k in headers.indices
                where !headers[k].isHopByHop
                    && headers[k].wellKnown != .contentLength && headers[k].wellKnown != .host
                    && ASCII.equalsIgnoringCase(p, headers[k].name, option)
                {
                    headers[k].isHopByHop = true
                }
            }
        }
    }

    /// The elements of a #list (RFC 9110 §5.6.1), OWS-trimmed; empty elements are ignored as the RFC requires.
    static func forEachListElement<E: Error>(
        _ p: UnsafeRawBufferPointer, _ list: ByteRange, _ body: (ByteRange) throws(E) -> Void
    ) throws(E) {
        var i = list.lowerBound
        while i < list.upperBound {
            var start = i
            while start < list.upperBound && ASCII.isOWS(p[start]) { start += 1 }
            var end = start
            while end < list.upperBound && p[end] != ASCII.comma { end += 1 }
            i = end + 1
            while end > start && ASCII.isOWS(p[end - 1]) { end -= 1 }
            if end > start { try body(ByteRange(lowerBound: start, upperBound: end)) }
        }
    }
}
