// Tracks the framing of a chunked body as it streams past (RFC 9112 §7.1), optionally handing out the payload.

public struct ChunkedScanner: Sendable {
    public enum Result: Sendable, Equatable {
        /// Every byte given belongs to the body, which is not finished.
        case needMore(consumed: Int)
        /// The body ended after `consumed` bytes (the CRLF closing the trailer section included); the rest is the next message.
        case done(consumed: Int)
        case error(HTTPParseError)
    }

    private enum State: UInt8, Sendable {
        case size, sizeWhitespace, chunkExtension, sizeLF
        case data, dataCR, dataLF
        case trailerLineStart, trailerName, trailerValue, trailerLF, finalLF
        case done, failed
    }

    private var state = State.size
    /// Hex digits read of the current chunk-size.
    private var digits = 0
    /// The chunk-size being read, then the chunk-data bytes still to come.
    private var remaining: UInt64 = 0
    private var failure = HTTPParseError.badRequest("invalid chunked body")

    public init() {}

    /// `bytes` are the body bytes that arrived since the previous call (not cumulative, unlike the head parsers).
    public mutating func scan(_ bytes: UnsafeRawBufferPointer) -> Result {
        run(bytes) { _ in }
    }

    /// Like `scan`, but calls `payload` with each run of chunk-data, in order: de-chunking for HTTP/1.0 clients.
    public mutating func decode(_ bytes: UnsafeRawBufferPointer, payload: (UnsafeRawBufferPointer) -> Void) -> Result {
        run(bytes, payload)
    }

    public mutating func reset() {
        self = ChunkedScanner()
    }

    private mutating func fail(_ reason: StaticString) -> Result {
        state = .failed
        failure = .badRequest(reason)
        return .error(failure)
    }

    @inline(__always)
    private mutating func run(_ p: UnsafeRawBufferPointer, _ payload: (UnsafeRawBufferPointer) -> Void) -> Result {
        var i = 0
        let end = p.count
        while i < end {
            let b = p[i]
            switch state {
            case .size:
                if let v = ASCII.hexValue(b) {
                    // 16 hex digits fill a UInt64; more would overflow (or be padding meant to confuse a parser).
                    guard digits < 16 else { return fail("chunk size too long") }
                    remaining = remaining << 4 | UInt64(v)
                    digits += 1
                } else if digits == 0 {
                    return fail("invalid chunk size")
                } else if b == ASCII.cr {
                    state = .sizeLF
                } else if b == ASCII.semicolon {
                    state = .chunkExtension
                } else if ASCII.isOWS(b) {
                    state = .sizeWhitespace
                } else {
                    return fail("invalid chunk size")
                }
            case .sizeWhitespace:
                // BWS is only allowed before a chunk-ext's ';' (RFC 9112 §7.1.1).
                if b == ASCII.semicolon { state = .chunkExtension }
                else if !ASCII.isOWS(b) { return fail("invalid chunk size") }
            case .chunkExtension:
                // Extensions are ignored and relayed as they are: only what could break line framing is refused.
                if b == ASCII.cr { state = .sizeLF }
                else if !ASCII.isFieldValueByte(b) { return fail("control character in chunk extension") }
            case .sizeLF:
                guard b == ASCII.lf else { return fail("chunk size line not ended by CRLF") }
                digits = 0
                state = remaining == 0 ? .trailerLineStart : .data
            case .data:
                let n = Int(min(remaining, UInt64(end - i)))
                payload(UnsafeRawBufferPointer(rebasing: p[i..<(i + n)]))
                remaining -= UInt64(n)
                if remaining == 0 { state = .dataCR }
                i += n
                continue
            case .dataCR:
                guard b == ASCII.cr else { return fail("chunk data not followed by CRLF") }
                state = .dataLF
            case .dataLF:
                guard b == ASCII.lf else { return fail("chunk data not followed by CRLF") }
                state = .size
            case .trailerLineStart:
                if b == ASCII.cr { state = .finalLF }
                else if ASCII.isTokenChar(b) { state = .trailerName }
                else if ASCII.isOWS(b) { return fail("obsolete line folding in trailer") }
                else { return fail("invalid trailer field") }
            case .trailerName:
                if b == ASCII.colon { state = .trailerValue }
                else if !ASCII.isTokenChar(b) { return fail("invalid trailer field") }
            case .trailerValue:
                if b == ASCII.cr { state = .trailerLF }
                else if !ASCII.isFieldValueByte(b) { return fail("control character in trailer value") }
            case .trailerLF:
                guard b == ASCII.lf else { return fail("trailer line not ended by CRLF") }
                state = .trailerLineStart
            case .finalLF:
                guard b == ASCII.lf else { return fail("chunked body not ended by CRLF") }
                state = .done
                return .done(consumed: i + 1)
            case .done:
                return .done(consumed: 0)
            case .failed:
                return .error(failure)
            }
            i += 1
        }
        switch state {
        case .done: return .done(consumed: 0)
        case .failed: return .error(failure)
        default: return .needMore(consumed: end)
        }
    }
}
