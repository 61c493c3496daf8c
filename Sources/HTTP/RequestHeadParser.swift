// Incremental, strict HTTP/1.1 request-head parser (RFC 9112, RFC 9110): bytes in, a RequestHead of offsets out.

public struct RequestHeadParser: Sendable {
    public enum Result: Sendable, Equatable {
        case incomplete
        case complete
        case error(HTTPParseError)
    }

    private enum Phase: Sendable, Equatable {
        case idle, requestLine, fields, complete
        case failed(HTTPParseError)
    }

    public let maxHeaderBytes: Int
    public let maxHeaderCount: Int
    private var phase = Phase.idle
    private var lines = LineSplitter()
    private var framing = FramingFields()
    private var hostFieldCount = 0

    public init(maxHeaderBytes: Int, maxHeaderCount: Int) {
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaderCount = maxHeaderCount
    }

    /// `bytes` holds everything received so far for this request, from its first byte; call again with the longer
    /// buffer (it may have moved) until the result is not `.incomplete`. Each complete line is checked as soon as it
    /// arrives and never scanned again. The first call resets `head`; pass the same `head` on every call.
    /// Bytes after `head.headLength` are not looked at: they are the body or the next request.
    public mutating func parse(_ bytes: UnsafeRawBufferPointer, into head: inout RequestHead) -> Result {
        switch phase {
        case .complete: return .complete
        case .failed(let error): return .error(error)
        case .idle:
            head.reset()
            phase = .requestLine
        case .requestLine, .fields:
            break
        }
        do {
            return try advance(bytes, &head)
        } catch {
            phase = .failed(error)
            return .error(error)
        }
    }

    public mutating func reset() {
        phase = .idle
        lines = LineSplitter()
        framing = FramingFields()
        hostFieldCount = 0
    }

    private mutating func advance(_ p: UnsafeRawBufferPointer, _ head: inout RequestHead) throws(HTTPParseError) -> Result {
        // Searching only below the limit makes "no end of head within maxHeaderBytes" the 431 condition.
        let limit = min(p.count, maxHeaderBytes)
        while let line = try lines.next(in: p, limit: limit) {
            if phase == .requestLine {
                // RFC 9112 §2.2: empty lines before the request line are left over from a previous body; skip them.
                if line.isEmpty { continue }
                try RequestLine.parse(p, line, into: &head)
                phase = .fields
            } else if line.isEmpty {
                try finish(p, &head)
                head.headLength = lines.lineStart
                phase = .complete
                return .complete
            } else {
                try addField(p, line, &head)
            }
        }
        if p.count >= maxHeaderBytes { throw HTTPParseError(status: 431, reason: "request head too large") }
        if phase == .fields && lines.pendingLineStartsWithWhitespace(p, limit: limit) {
            throw .badRequest("obsolete line folding")
        }
        return .incomplete
    }

    private mutating func addField(_ p: UnsafeRawBufferPointer, _ line: ByteRange, _ head: inout RequestHead) throws(HTTPParseError) {
        let field = try FieldLine.parse(p, line)
        guard head.headers.count < maxHeaderCount else {
            throw HTTPParseError(status: 431, reason: "too many header fields")
        }
        let known = WellKnownField(name: field.name, in: p)
        var value = field.value
        var repeated = false
        switch known {
        case .host:
            hostFieldCount += 1
            // Two Hosts could route one way here and another way upstream (RFC 9110 §7.2: MUST reject).
            guard hostFieldCount == 1 else { throw .badRequest("more than one host field") }
            try RequestRules.host(p, field.value)
            // An absolute-form authority, parsed earlier from the request line, takes precedence.
            if head.host == nil { head.host = field.value }
        case .contentLength:
            // One field with the canonical value goes upstream; a repeat (already checked equal) is dropped.
            repeated = framing.contentLength != nil
            value = try framing.addContentLength(p, field.value)
        case .transferEncoding:
            // An HTTP/1.0 hop may not understand chunked, so framing would be ambiguous (RFC 9112 §6.1).
            guard head.versionMinor == 1 else { throw .badRequest("transfer-encoding in an HTTP/1.0 request") }
            try framing.addTransferEncoding(p, field.value)
        case .connection:
            try framing.addConnection(p, field.value)
        case .expect:
            guard ASCII.equalsIgnoringCase(p, field.value, "100-continue") else {
                throw HTTPParseError(status: 417, reason: "unsupported expectation")
            }
            head.expectsContinue = head.versionMinor == 1
        case .xForwardedFor:
            if head.forwardedFor == nil { head.forwardedFor = field.value }
        case .other, .keepAlive, .proxyConnection, .te, .trailer, .upgrade, .xForwardedProto, .xForwardedHost, .forwarded:
            break
        }
        // The request-smuggling case of RFC 9112 §6.1: a proxy that forwards both lets two parsers disagree.
        if framing.hasTransferEncoding && framing.contentLength != nil {
            throw .badRequest("content-length and transfer-encoding together")
        }
        head.headers.append(HeaderField(
            name: field.name, value: value, isHopByHop: repeated || known.isHopByHop(inRequest: true), wellKnown: known))
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
    }
}
