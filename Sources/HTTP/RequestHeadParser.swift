// Incremental, strict HTTP/1.1 request-head parser (RFC 9112, RFC 9110): bytes in, a RequestHead of offsets out.

public struct RequestHeadParser: Sendable {
    public enum Result: Sendable, Equatable {
        case incomplete
        case complete
        case error(HTTPParseError)
    }

    private var lines: HeadLines
    private var framing = FramingFields()
    private var hostFieldCount = 0

    public var maxHeaderBytes: Int { lines.maxHeaderBytes }
    public var maxHeaderCount: Int { lines.maxHeaderCount }

    public init(maxHeaderBytes: Int, maxHeaderCount: Int) {
        lines = HeadLines(maxHeaderBytes: maxHeaderBytes, maxHeaderCount: maxHeaderCount)
    }

    /// `bytes` holds everything received so far for this request, from its first byte; call again with the longer
    /// buffer (it may have moved) until the result is not `.incomplete`. Each complete line is checked as soon as it
    /// arrives and never scanned again. The first call resets `head`; pass the same `head` on every call.
    /// Bytes after `head.headLength` are not looked at: they are the body or the next request.
    public mutating func parse(_ bytes: UnsafeRawBufferPointer, into head: inout RequestHead) -> Result {
        if let done = lines.begin(&head) { return done }
        do {
            return try advance(bytes, &head)
        } catch {
            return lines.fail(error)
        }
    }

    public mutating func reset() {
        lines.reset()
        framing = FramingFields()
        hostFieldCount = 0
    }

    private mutating func advance(_ p: UnsafeRawBufferPointer, _ head: inout RequestHead) throws(HTTPParseError) -> Result {
        while let line = try lines.next(in: p, headerCount: head.headers.count) {
            switch line {
            case .start(let range):
                // RFC 9112 §2.2: empty lines before the request line are left over from a previous body; skip them.
                if range.isEmpty { continue }
                try RequestLine.parse(p, range, into: &head)
                lines.acceptStartLine()
            case .field(let field, let known):
                try addField(p, field, known, &head)
            case .end:
                try finish(p, &head)
                return lines.complete(&head)
            }
        }
        return try lines.incomplete(p, tooLarge: HTTPParseError(status: 431, reason: "request head too large"))
    }

    private mutating func addField(
        _ p: UnsafeRawBufferPointer, _ field: FieldLine, _ known: WellKnownField, _ head: inout RequestHead
    ) throws(HTTPParseError) {
        switch known {
        case .host:
            hostFieldCount += 1
            // Two Hosts could route one way here and another way upstream (RFC 9110 §7.2: MUST reject).
            guard hostFieldCount == 1 else { throw .badRequest("more than one host field") }
            try RequestRules.host(p, field.value)
            // An absolute-form authority, parsed earlier from the request line, takes precedence.
            if head.host == nil { head.host = field.value }
        case .transferEncoding:
            // An HTTP/1.0 hop may not understand chunked, so framing would be ambiguous (RFC 9112 §6.1).
            guard head.versionMinor == 1 else { throw .badRequest("transfer-encoding in an HTTP/1.0 request") }
        case .expect:
            guard ASCII.equalsIgnoringCase(p, field.value, "100-continue") else {
                throw HTTPParseError(status: 417, reason: "unsupported expectation")
            }
            head.expectsContinue = head.versionMinor == 1
        case .xForwardedFor:
            if head.forwardedFor == nil { head.forwardedFor = field.value }
        case .traceparent:
            head.traceparent.add(field.value)
        case .other, .tracestate, .contentLength, .connection, .keepAlive, .proxyConnection, .te, .trailer, .upgrade, .xForwardedProto,
            .xForwardedHost, .forwarded:
            break
        }
        let stored = try framing.add(p, field, known, inRequest: true)
        // The request-smuggling case of RFC 9112 §6.1: a proxy that forwards both lets two parsers disagree.
        if framing.hasTransferEncoding && framing.contentLength != nil {
            throw .badRequest("content-length and transfer-encoding together")
        }
        head.headers.append(stored)
    }

    private func finish(_ p: UnsafeRawBufferPointer, _ head: inout RequestHead) throws(HTTPParseError) {
        if head.versionMinor == 1 && hostFieldCount == 0 { throw .badRequest("missing host") }
        try framing.checkTransferCodings()
        if framing.hasTransferEncoding {
            head.framing = .chunked
        } else if let length = framing.contentLength {
            head.framing = .contentLength(length)
        } else {
            head.framing = .none
        }
        head.keepAlive = framing.keepAlive(versionMinor: head.versionMinor)
        if framing.nominatesFields { FramingFields.markNominatedFields(&head.headers, in: p) }
        if framing.connectionUpgrade {
            head.upgrade = UpgradeRules.tunnelRequested(
                versionMinor: head.versionMinor, framing: head.framing, headers: head.headers, in: p)
        }
    }
}
