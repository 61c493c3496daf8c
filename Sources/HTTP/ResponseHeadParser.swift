// Incremental, strict HTTP/1.x response-head parser: the same field rules as requests, every failure a 502.

public struct ResponseHeadParser: Sendable {
    private var core: HeadParser<ResponseGrammar>

    public var maxHeaderBytes: Int { core.maxHeaderBytes }
    public var maxHeaderCount: Int { core.maxHeaderCount }

    public init(maxHeaderBytes: Int, maxHeaderCount: Int) {
        core = HeadParser(maxHeaderBytes: maxHeaderBytes, maxHeaderCount: maxHeaderCount)
    }

    /// Same contract as `RequestHeadParser.parse`. `requestMethod` matters because a response to HEAD has no body.
    /// A 1xx response completes like any other; the caller resets and parses the final response that follows.
    public mutating func parse(
        _ bytes: UnsafeRawBufferPointer, requestMethod: HTTPMethod, into head: inout ResponseHead
    ) -> RequestHeadParser.Result {
        core.parse(bytes, requestMethod, into: &head)
    }

    public mutating func reset() {
        core.reset()
    }
}

/// The response's own rules: the status line, and framing by status, method and fields (RFC 9112 §6.3).
struct ResponseGrammar: HeadGrammar {
    private var framing = FramingFields()

    static var headTooLarge: HTTPParseError { .badRequest("response head too large") }

    /// Whatever is wrong, the upstream sent it: the client gets a Bad Gateway, the reason is kept for the log.
    static func reported(_ error: HTTPParseError) -> HTTPParseError {
        HTTPParseError(status: 502, reason: error.reason)
    }

    mutating func addField(
        _ p: UnsafeRawBufferPointer, _ field: FieldLine, _ known: WellKnownField, _ head: inout ResponseHead
    ) throws(HTTPParseError) {
        head.headers.append(try framing.add(p, field, known, inRequest: false))
    }

    /// HTTP-version SP 3DIGIT SP reason-phrase (RFC 9112 §4). Only HTTP/1.0 and HTTP/1.1 upstreams are spoken to.
    /// Never skips a line: unlike a request, a response has no leftover CRLF to tolerate before it.
    func startLine(_ p: UnsafeRawBufferPointer, _ line: ByteRange, _ head: inout ResponseHead) throws(HTTPParseError) -> Bool {
        let v = line.lowerBound
        guard line.count >= 12, ASCII.equals(p, ByteRange(lowerBound: v, upperBound: v + 7), "HTTP/1."),
              p[v + 7] == UInt8(ascii: "0") || p[v + 7] == UInt8(ascii: "1"), p[v + 8] == ASCII.sp else {
            throw .badRequest("invalid status line")
        }
        head.versionMinor = p[v + 7] == UInt8(ascii: "0") ? 0 : 1
        var status = 0
        for k in (v + 9)..<(v + 12) {
            guard ASCII.isDigit(p[k]) else { throw .badRequest("invalid status code") }
            status = status * 10 + Int(p[k] - UInt8(ascii: "0"))
        }
        guard status >= 100 && status <= 599 else { throw .badRequest("invalid status code") }
        head.status = status
        let afterCode = v + 12
        // The SP before an empty reason is required by the grammar but commonly omitted; it frames nothing.
        if afterCode == line.upperBound {
            head.reason = ByteRange(lowerBound: afterCode, upperBound: afterCode)
            return true
        }
        guard p[afterCode] == ASCII.sp else { throw .badRequest("invalid status code") }
        head.reason = ByteRange(lowerBound: afterCode + 1, upperBound: line.upperBound)
        for k in head.reason.lowerBound..<head.reason.upperBound where !ASCII.isFieldValueByte(p[k]) {
            throw .badRequest("invalid character in reason phrase")
        }
        return true
    }

    /// RFC 9112 §6.3, in its order of precedence.
    func finish(_ p: UnsafeRawBufferPointer, _ method: HTTPMethod, _ head: inout ResponseHead) throws(HTTPParseError) {
        try framing.checkTransferCodings()
        let chunked = framing.hasTransferEncoding
        if chunked && framing.contentLength != nil {
            // §6.3 ¶3: an intermediary MUST remove the Content-Length before forwarding such a message.
            for k in head.headers.indices where head.headers[k].wellKnown == .contentLength {
                head.headers[k].isHopByHop = true
            }
        }
        if method == .head || head.status < 200 || head.status == 204 || head.status == 304 {
            head.framing = .none
        } else if chunked {
            head.framing = .chunked
        } else if let length = framing.contentLength {
            head.framing = .contentLength(length)
        } else {
            head.framing = .untilClose
        }
        // CL+TE, or TE in HTTP/1.0, is framing a sender got wrong: finish this message, then drop the connection.
        let suspectFraming = chunked && (framing.contentLength != nil || head.versionMinor == 0)
        head.keepAlive = framing.keepAlive(versionMinor: head.versionMinor)
            && head.framing != .untilClose && !suspectFraming
        if framing.nominatesFields { FramingFields.markNominatedFields(&head.headers, in: p) }
    }
}
