// Incremental, strict HTTP/1.x response-head parser: the same field rules as requests, every failure a 502.

public struct ResponseHeadParser: Sendable {
    private var lines: HeadLines
    private var framing = FramingFields()

    public var maxHeaderBytes: Int { lines.maxHeaderBytes }
    public var maxHeaderCount: Int { lines.maxHeaderCount }

    public init(maxHeaderBytes: Int, maxHeaderCount: Int) {
        lines = HeadLines(maxHeaderBytes: maxHeaderBytes, maxHeaderCount: maxHeaderCount)
    }

    /// Same contract as `RequestHeadParser.parse`. `requestMethod` matters because a response to HEAD has no body.
    /// A 1xx response completes like any other; the caller resets and parses the final response that follows.
    public mutating func parse(
        _ bytes: UnsafeRawBufferPointer, requestMethod: HTTPMethod, into head: inout ResponseHead
    ) -> RequestHeadParser.Result {
        if let done = lines.begin(&head) { return done }
        do {
            return try advance(bytes, requestMethod, &head)
        } catch {
            // Whatever is wrong, the upstream sent it: the client gets a Bad Gateway, the reason is kept for the log.
            return lines.fail(HTTPParseError(status: 502, reason: error.reason))
        }
    }

    public mutating func reset() {
        lines.reset()
        framing = FramingFields()
    }

    private mutating func advance(
        _ p: UnsafeRawBufferPointer, _ method: HTTPMethod, _ head: inout ResponseHead
    ) throws(HTTPParseError) -> RequestHeadParser.Result {
        while let line = try lines.next(in: p, headerCount: head.headers.count) {
            switch line {
            case .start(let range):
                // Unlike a request, a response has no leftover CRLF to tolerate before it: an empty line is invalid.
                try parseStatusLine(p, range, &head)
                lines.acceptStartLine()
            case .field(let field, let known):
                head.headers.append(try framing.add(p, field, known, inRequest: false))
            case .end:
                try finish(p, method, &head)
                return lines.complete(&head)
            }
        }
        return try lines.incomplete(p, tooLarge: .badRequest("response head too large"))
    }

    /// HTTP-version SP 3DIGIT SP reason-phrase (RFC 9112 §4). Only HTTP/1.0 and HTTP/1.1 upstreams are spoken to.
    private func parseStatusLine(_ p: UnsafeRawBufferPointer, _ line: ByteRange, _ head: inout ResponseHead) throws(HTTPParseError) {
        let v = line.lowerBound
        guard line.count >= 12, ASCII.equals(p, ByteRange(lowerBound: v, upperBound: v + 7), "HTTP/1."),
            p[v + 7] == UInt8(ascii: "0") || p[v + 7] == UInt8(ascii: "1"), p[v + 8] == ASCII.sp
        else {
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
            return
        }
        guard p[afterCode] == ASCII.sp else { throw .badRequest("invalid status code") }
        head.reason = ByteRange(lowerBound: afterCode + 1, upperBound: line.upperBound)
        for k in head.reason.lowerBound..<head.reason.upperBound where !ASCII.isFieldValueByte(p[k]) {
            throw .badRequest("invalid character in reason phrase")
        }
    }

    /// RFC 9112 §6.3, in its order of precedence.
    private func finish(_ p: UnsafeRawBufferPointer, _ method: HTTPMethod, _ head: inout ResponseHead) throws(HTTPParseError) {
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
        head.keepAlive =
            framing.keepAlive(versionMinor: head.versionMinor)
            && head.framing != .untilClose && !suspectFraming
        if framing.nominatesFields { FramingFields.markNominatedFields(&head.headers, in: p) }
    }
}
