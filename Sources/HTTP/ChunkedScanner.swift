// Tracks the framing of a chunked body as it streams past (RFC 9112 §7.1): scans it, decodes its payload, or re-frames it canonically.

public struct ChunkedScanner: Sendable {
    public enum Result: Sendable, Equatable {
        /// Every byte given belongs to the body, which is not finished.
        case needMore(consumed: Int)
        /// The body ended after `consumed` bytes (the CRLF closing the trailer section included); the rest is the next message.
        case done(consumed: Int)
        case error(HTTPParseError)
    }

    /// The largest chunk-size accepted, 2^31 − 1. Larger sizes are where parsers disagree: one that keeps
    /// the size in a signed 64-bit integer reads `8000000000000000` as negative and `ffffffffffffffff` as
    /// -1, a 32-bit one wraps past 2^31, a double loses digits past 2^53. Below this bound every one of
    /// them reads the size the proxy read. Real senders size chunks by their buffers (KiB to MiB), and a
    /// body of any length still goes through as many chunks; a bigger chunk is refused (400 from a
    /// client, 502 from an upstream), never relayed.
    public static let maxChunkSize: UInt64 = 0x7FFF_FFFF

    /// How many bytes `reframe` may emit beyond the bytes it is given in one call: a size line or a
    /// trailer name whose bytes were consumed by earlier calls is emitted whole when it ends.
    public static let reframeSlack = 64

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
    /// Re-framing: the trailer name being read, held until its colon tells whether the line is relayed.
    private var name = HeldName()
    /// Re-framing: the trailer line being read is one of `TrailerFields`' forbidden fields.
    private var droppingLine = false

    private enum Mode { case scan, decode, reframe, decodeKeepingTrailers }

    public init() {}

    /// `bytes` are the body bytes that arrived since the previous call (not cumulative, unlike the head parsers).
    public mutating func scan(_ bytes: UnsafeRawBufferPointer) -> Result {
        run(bytes, .scan, { _ in }, { _ in })
    }

    /// Like `scan`, but calls `payload` with each run of chunk-data, in order: de-chunking for HTTP/1.0 clients.
    public mutating func decode(_ bytes: UnsafeRawBufferPointer, payload: (UnsafeRawBufferPointer) -> Void) -> Result {
        run(bytes, .decode, payload, payload)
    }

    /// Like `decode`, and calls `trailer` with the trailer section as `reframe` emits it (field lines
    /// without the forbidden fields, names and values as received, without the section's final CRLF):
    /// a chunked request's trailers relayed as HTTP/2 trailers.
    public mutating func decode(
        _ bytes: UnsafeRawBufferPointer, payload: (UnsafeRawBufferPointer) -> Void, trailer: (UnsafeRawBufferPointer) -> Void
    ) -> Result {
        run(bytes, .decodeKeepingTrailers, payload, trailer)
    }

    /// Like `scan`, but emits the body as it is relayed: each chunk-size line as the size in lower-case
    /// hex without leading zeros and CRLF (no whitespace, no chunk extensions: parsers disagree on
    /// both), chunk-data as received, and the trailer section without the fields `TrailerFields`
    /// forbids. What is emitted is never longer than what was consumed, give or take `reframeSlack`.
    public mutating func reframe(_ bytes: UnsafeRawBufferPointer, emit: (UnsafeRawBufferPointer) -> Void) -> Result {
        run(bytes, .reframe, emit, emit)
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
    /// `emit` takes what the mode emits of the chunks, `trailerEmit` what it emits of the trailer section.
    private mutating func run(
        _ p: UnsafeRawBufferPointer, _ mode: Mode, _ emit: (UnsafeRawBufferPointer) -> Void,
        _ trailerEmit: (UnsafeRawBufferPointer) -> Void
    ) -> Result {
        let keepsTrailers = mode == .reframe || mode == .decodeKeepingTrailers
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
                    guard remaining <= ChunkedScanner.maxChunkSize else { return fail("chunk size too large") }
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
                if b == ASCII.semicolon { state = .chunkExtension } else if !ASCII.isOWS(b) { return fail("invalid chunk size") }
            case .chunkExtension:
                // Extensions are ignored (re-framing drops them): only what could break line framing is refused.
                if b == ASCII.cr {
                    state = .sizeLF
                } else if !ASCII.isFieldValueByte(b) {
                    return fail("control character in chunk extension")
                }
            case .sizeLF:
                guard b == ASCII.lf else { return fail("chunk size line not ended by CRLF") }
                digits = 0
                state = remaining == 0 ? .trailerLineStart : .data
                if mode == .reframe { emitSizeLine(remaining, emit) }
            case .data:
                let n = Int(min(remaining, UInt64(end - i)))
                if mode != .scan { emit(UnsafeRawBufferPointer(rebasing: p[i..<(i + n)])) }
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
                if mode == .reframe { emit(crlf) }
            case .trailerLineStart:
                if b == ASCII.cr {
                    state = .finalLF
                } else if ASCII.isTokenChar(b) {
                    state = .trailerName
                    if keepsTrailers { startName(b, trailerEmit) }
                } else if ASCII.isOWS(b) {
                    return fail("obsolete line folding in trailer")
                } else {
                    return fail("invalid trailer field")
                }
            case .trailerName:
                if b == ASCII.colon {
                    state = .trailerValue
                    if keepsTrailers { endName(trailerEmit) }
                } else if !ASCII.isTokenChar(b) {
                    return fail("invalid trailer field")
                } else if keepsTrailers {
                    addToName(b, trailerEmit)
                }
            case .trailerValue:
                // The value's bytes as one run: trailer values may be long (digests, signatures).
                var k = i
                while k < end && p[k] != ASCII.cr {
                    guard ASCII.isFieldValueByte(p[k]) else { return fail("control character in trailer value") }
                    k += 1
                }
                if keepsTrailers && !droppingLine && k > i { trailerEmit(UnsafeRawBufferPointer(rebasing: p[i..<k])) }
                if k == end { return .needMore(consumed: end) }
                state = .trailerLF
                i = k + 1
                continue
            case .trailerLF:
                guard b == ASCII.lf else { return fail("trailer line not ended by CRLF") }
                state = .trailerLineStart
                if keepsTrailers && !droppingLine { trailerEmit(crlf) }
            case .finalLF:
                guard b == ASCII.lf else { return fail("chunked body not ended by CRLF") }
                state = .done
                if mode == .reframe { emit(crlf) }
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

    // MARK: re-framing

    /// "size-in-hex CRLF", lower-case, no leading zeros.
    private func emitSizeLine(_ size: UInt64, _ emit: (UnsafeRawBufferPointer) -> Void) {
        var line: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 16 digits and CRLF fit
        withUnsafeMutableBytes(of: &line) { out in
            var n = 0
            var shift = 60
            while shift > 0 && (size >> UInt64(shift)) & 0xF == 0 { shift -= 4 }
            while shift >= 0 {
                out[n] = hexDigits.utf8Start[Int((size >> UInt64(shift)) & 0xF)]
                n += 1
                shift -= 4
            }
            out[n] = ASCII.cr
            out[n + 1] = ASCII.lf
            emit(UnsafeRawBufferPointer(rebasing: out[0..<(n + 2)]))
        }
    }

    private mutating func startName(_ b: UInt8, _ emit: (UnsafeRawBufferPointer) -> Void) {
        name.count = 0
        droppingLine = false
        addToName(b, emit)
    }

    /// Holds the name while it could still be a forbidden one; a longer name is relayed as it comes.
    private mutating func addToName(_ b: UInt8, _ emit: (UnsafeRawBufferPointer) -> Void) {
        if name.count < HeldName.capacity {
            name.append(b)
        } else {
            if name.count == HeldName.capacity {
                name.withBytes(emit)
                name.count += 1
            }
            withUnsafeBytes(of: b) { emit($0) }
        }
    }

    private mutating func endName(_ emit: (UnsafeRawBufferPointer) -> Void) {
        if name.count <= HeldName.capacity {
            droppingLine = name.withBytes { TrailerFields.isForbidden($0) }
            if droppingLine { return }
            name.withBytes(emit)
        }
        emit(colon)
    }
}

/// Up to 32 bytes of a trailer field name, inline: re-framing allocates nothing.
private struct HeldName: Sendable {
    static let capacity = 32
    private var bytes: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    /// Bytes held, or `capacity + 1` once a longer name's bytes were emitted.
    var count = 0

    mutating func append(_ b: UInt8) {
        withUnsafeMutableBytes(of: &bytes) { $0[count] = b }
        count += 1
    }

    func withBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        withUnsafeBytes(of: bytes) { body(UnsafeRawBufferPointer(rebasing: $0[0..<min(count, HeldName.capacity)])) }
    }
}

private let hexDigits: StaticString = "0123456789abcdef"
private let crlfBytes: StaticString = "\r\n"
private let colonBytes: StaticString = ":"
private var crlf: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: crlfBytes.utf8Start, count: 2) }
private var colon: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: colonBytes.utf8Start, count: 1) }
