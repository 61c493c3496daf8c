// Fuzz target `http1-response`: ResponseHeadParser, whole and incremental, and the head the proxy writes back re-parsed.
import FuzzSupport
import HTTP

let maxHeaderBytes = 16 * 1024  // the config defaults (limits.maxHeaderBytes, limits.maxHeaderCount)
let maxHeaderCount = 100

func parse(_ input: UnsafeRawBufferPointer, method: HTTPMethod, cuts: [Int],
           maxBytes: Int = maxHeaderBytes, maxCount: Int = maxHeaderCount) -> (RequestHeadParser.Result, ResponseHead) {
    var parser = ResponseHeadParser(maxHeaderBytes: maxBytes, maxHeaderCount: maxCount)
    var head = ResponseHead()
    var result = RequestHeadParser.Result.incomplete
    // Each prefix in a buffer of its own, as when the proxy's read buffer grows and moves.
    for cut in cuts + [input.count] {
        let prefix = Array(input[0..<cut])
        result = prefix.withUnsafeBytes { parser.parse($0, requestMethod: method, into: &head) }
        if result != .incomplete { break }
    }
    return (result, head)
}

/// The forwarded fields as byte strings (name through value), in order. Content-Length is left out: the
/// proxy writes it canonically once (`050` → `50`); `contentLength` compares its value.
func forwarded(_ head: ResponseHead, _ p: UnsafeRawBufferPointer) -> [[UInt8]] {
    head.headers.filter { !$0.isHopByHop && $0.wellKnown != .contentLength }.map {
        Array(p.slice(ByteRange(lowerBound: $0.name.lowerBound, upperBound: $0.value.upperBound)))
    }
}

/// The values of the Content-Length fields, as numbers (leading zeros and the repeats of a list dropped).
func contentLength(_ head: ResponseHead, _ p: UnsafeRawBufferPointer) -> Set<UInt64> {
    Set(head.headers.filter { $0.wellKnown == .contentLength }.flatMap { field in
        p.slice(field.value).split(separator: UInt8(ascii: ",")).compactMap {
            UInt64(String(decoding: $0.filter { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") }, as: UTF8.self))
        }
    })
}

func check(_ input: UnsafeRawBufferPointer, method: HTTPMethod) {
    let (result, head) = parse(input, method: method, cuts: [])
    for round: UInt64 in 0..<3 {
        let cuts = Splits.cuts(of: input, round: round)
        let (r, h) = parse(input, method: method, cuts: cuts)
        invariant(sameOutcome(r, result), "cut at \(cuts): \(r), whole: \(result)")
        if result == .complete { invariant(h == head, "cut at \(cuts): another head") }
    }
    switch result {
    case .incomplete:
        invariant(input.count < maxHeaderBytes, "incomplete with \(input.count) bytes, beyond the limit")
        return
    case .error(let e):
        invariant(e.status == 502, "a response error that is not 502: \(e)")
        return
    case .complete:
        break
    }
    invariant(head.headLength >= 4 && head.headLength <= min(input.count, maxHeaderBytes), "headLength \(head.headLength) of \(input.count)")
    invariant(Array(input[(head.headLength - 4)..<head.headLength]) == Array("\r\n\r\n".utf8), "head does not end in CRLF CRLF")
    invariant(head.status >= 100 && head.status <= 599, "status \(head.status)")
    invariant(inBounds(head.reason, head.headLength), "reason out of bounds")
    invariant(head.headers.count <= maxHeaderCount, "\(head.headers.count) fields")
    for f in head.headers {
        invariant(inBounds(f.name, head.headLength) && inBounds(f.value, head.headLength) && !f.name.isEmpty
                  && f.name.upperBound <= f.value.lowerBound, "field ranges \(f)")
    }
    if head.framing == .untilClose { invariant(!head.keepAlive, "keep-alive with a close-delimited body") }

    // What the proxy sends the client must read back as the same response.
    var out = [UInt8](repeating: 0, count: 2 * maxHeaderBytes)
    let chunked = head.framing == .chunked
    guard let n = out.withUnsafeMutableBytes({
        HeadWriter.writeResponse(head, source: input, chunked: chunked, connection: .keepAlive, into: $0)
    }) else {
        invariant(false, "the rewritten head did not fit twice the limit")
        return
    }
    let written = Array(out[0..<n])
    written.withUnsafeBytes { w in
        let (r2, h2) = parse(w, method: method, cuts: [], maxBytes: 4 * maxHeaderBytes, maxCount: 2 * maxHeaderCount + 2)
        invariant(r2 == .complete, "rewritten head \(show(w)) parses as \(r2)")
        invariant(h2.headLength == n, "rewritten head length \(h2.headLength) of \(n)")
        invariant(h2.status == head.status, "status \(head.status) became \(h2.status)")
        invariant(Array(w.slice(h2.reason)) == Array(input.slice(head.reason)), "reason changed")
        invariant(h2.framing == head.framing, "framing \(head.framing) became \(h2.framing)")
        // The writer's own Transfer-Encoding and Connection are hop-by-hop, so only the forwarded ones compare.
        invariant(forwarded(h2, w) == forwarded(head, input), "forwarded fields changed: \(show(w))")
        // Beside Transfer-Encoding a Content-Length is dropped (RFC 9112 §6.3); otherwise its value stays.
        let besideTransferEncoding = head.headers.contains { $0.wellKnown == .transferEncoding }
        let expectedLength = besideTransferEncoding ? [] : contentLength(head, input)
        invariant(contentLength(h2, w) == expectedLength, "Content-Length changed: \(show(w))")
    }
}

/// One input: everything is checked, and a broken invariant aborts (libFuzzer saves the input). Exported under
/// libFuzzer's name too, which its runtime's unused main still refers to.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzResponse(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    check(input, method: .get)
    check(input, method: .head)
    return 0
}
