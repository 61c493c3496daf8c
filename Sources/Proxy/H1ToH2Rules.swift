// The decisions of relaying an HTTP/1.1 request to an HTTP/2 upstream that need no socket: which requests go, the body's bytes, the response's framing.
import HTTP

extension RequestView {
    /// `content-type: application/grpc…`. gRPC needs HTTP/2 trailers end to end, which HTTP/1.1 clients
    /// cannot be relied on to read, so such a request from an HTTP/1.1 client keeps the 505.
    var isGRPC: Bool {
        var grpc = false
        forEachField { name, value in
            if fieldNameIs(name, "content-type") {
                grpc = fieldNameIs(UnsafeRawBufferPointer(rebasing: value.prefix(16)), "application/grpc")
            }
        }
        return grpc
    }
}

extension BodyProgress {
    /// Moves the request body's payload from `input` (the bytes the client sent after what was taken
    /// before) into `out`, at most `out.count` bytes: a length-delimited body as it is, a chunked one
    /// decoded (its chunk framing dropped: HTTP/2 frames the body itself), its trailer section handed
    /// to `trailer` as `ChunkedScanner.decode(_:payload:trailer:)` emits it. Returns the bytes consumed
    /// from `input` and produced into `out`; bytes after the body's end (a pipelined request) are left alone.
    mutating func decode(
        _ input: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer, trailer: (UnsafeRawBufferPointer) -> Void
    ) -> Result<(consumed: Int, produced: Int), HTTPParseError> {
        switch self {
        case .none, .untilClose:
            // A request body is never delimited by the close (RFC 9112 §6.3): nothing to move.
            return .success((0, 0))
        case .length(let remaining):
            let n = Int(min(remaining, UInt64(min(input.count, out.count))))
            if n > 0 { out.baseAddress!.copyMemory(from: input.baseAddress!, byteCount: n) }
            self = .length(remaining: remaining - UInt64(n))
            return .success((n, n))
        case .chunked(var scanner, let done):
            guard !done else { return .success((0, 0)) }
            var consumed = 0
            var produced = 0
            var finished = false
            // The payload of a run of input is never longer than the run: feed what `out` can still take,
            // and go on while a feed was all framing (a size line) and input and room remain.
            while !finished && consumed < input.count && produced < out.count {
                let feed = UnsafeRawBufferPointer(rebasing: input[consumed..<min(input.count, consumed + out.count - produced)])
                let result = scanner.decode(
                    feed,
                    payload: { payload in
                        (out.baseAddress! + produced).copyMemory(from: payload.baseAddress!, byteCount: payload.count)
                        produced += payload.count
                    }, trailer: trailer)
                switch result {
                case .needMore(let n): consumed += n
                case .done(let n): consumed += n; finished = true
                case .error(let e): return .failure(e)
                }
            }
            self = .chunked(scanner, done: finished)
            return .success((consumed, produced))
        }
    }
}

/// A chunked request's trailer section, as `ChunkedScanner` emits it ("name:value" lines, each ended by
/// CRLF, the value as received): calls `body` with each field, its name lower-cased in place (HTTP/2
/// field names are lower case) and its value without the OWS around it.
func forEachTrailerField(
    _ section: UnsafeMutableRawBufferPointer, _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Void
) {
    let bytes = UnsafeRawBufferPointer(section)
    var i = 0
    while i < bytes.count {
        var end = i
        while end < bytes.count && bytes[end] != 13 { end += 1 }
        var colon = i
        while colon < end && bytes[colon] != UInt8(ascii: ":") { colon += 1 }
        if colon > i && colon < end {
            ASCII.lowercase(section.baseAddress! + i, count: colon - i)
            var start = colon + 1
            var stop = end
            while start < stop && (bytes[start] == 32 || bytes[start] == 9) { start += 1 }
            while stop > start && (bytes[stop - 1] == 32 || bytes[stop - 1] == 9) { stop -= 1 }
            body(UnsafeRawBufferPointer(rebasing: bytes[i..<colon]), UnsafeRawBufferPointer(rebasing: bytes[start..<stop]))
        }
        i = end + 2
    }
}

/// How the final head of an HTTP/2 response goes to an HTTP/1.1 client, and how its body is framed.
struct H2ResponseFraming: Equatable {
    enum Body: Equatable {
        /// No body: HEAD, 204, 304, or a response that ended with its head.
        case none
        /// Delimited by the upstream's `content-length`, relayed as it is (trailers are dropped).
        case length
        /// No length given, HTTP/1.1 client: chunked, with the trailers in its trailer section.
        case chunked
        /// No length given, HTTP/1.0 client (cannot read chunked): delimited by the connection's close.
        case untilClose
    }

    let body: Body
    /// `content-length: 0` is written: a response that ended with its head and declared no length
    /// (else an HTTP/1.1 client would read until close).
    let zeroLength: Bool
    /// The client connection closes after this response.
    let closeAfter: Bool
    let directive: ConnectionDirective

    init(
        status: Int, requestIsHead: Bool, hasContentLength: Bool, endedWithHead: Bool, clientVersionMinor: UInt8,
        closeAfterResponse: Bool
    ) {
        let clientIsHTTP10 = clientVersionMinor == 0
        // RFC 9110 §6.4.1: these never have content, whatever their fields say.
        let bodiless = requestIsHead || status == 204 || status == 304
        if bodiless {
            body = .none
            zeroLength = false
        } else if hasContentLength {
            body = .length
            zeroLength = false
        } else if endedWithHead {
            body = .none
            zeroLength = true
        } else {
            body = clientIsHTTP10 ? .untilClose : .chunked
            zeroLength = false
        }
        closeAfter = closeAfterResponse || body == .untilClose
        directive = closeAfter ? .close : (clientIsHTTP10 ? .keepAlive : .none)
    }
}
