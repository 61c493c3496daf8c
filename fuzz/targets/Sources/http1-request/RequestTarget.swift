// Fuzz target `http1-request`: the client-side parsing the proxy does, with what it sends upstream re-parsed.
import FuzzSupport
import HTTP

let maxHeaderBytes = 16 * 1024  // the config defaults (limits.maxHeaderBytes, limits.maxHeaderCount)
let maxHeaderCount = 100
let clientAddress = Array("192.0.2.7".utf8)

/// One input: everything is checked, and a broken invariant aborts (libFuzzer saves the input). Exported under
/// libFuzzer's name too, which its runtime's unused main still refers to.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzRequest(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    checkHTTP1(input)
    checkHTTP2Fields(input)
    return 0
}

func parse(_ input: UnsafeRawBufferPointer, cuts: [Int],
           maxBytes: Int = maxHeaderBytes, maxCount: Int = maxHeaderCount) -> (RequestHeadParser.Result, RequestHead) {
    var parser = RequestHeadParser(maxHeaderBytes: maxBytes, maxHeaderCount: maxCount)
    var head = RequestHead()
    var result = RequestHeadParser.Result.incomplete
    // Each prefix in a buffer of its own, as when the proxy's read buffer grows and moves.
    for cut in cuts + [input.count] {
        let prefix = Array(input[0..<cut])
        result = prefix.withUnsafeBytes { parser.parse($0, into: &head) }
        if result != .incomplete { break }
    }
    return (result, head)
}

/// A request's fields as the upstream should see them: forwarded name-through-value bytes, in order,
/// leaving out Host and what the writer adds itself (X-Forwarded-*).
/// Content-Length is left out: the proxy writes it canonically once (`03, 3` → `3`), and the framing
/// comparison checks its value.
func forwardedFields(_ head: RequestHead, _ p: UnsafeRawBufferPointer) -> [[UInt8]] {
    head.headers.filter { !$0.isHopByHop && $0.wellKnown != .host && $0.wellKnown != .contentLength }.map {
        Array(p.slice(ByteRange(lowerBound: $0.name.lowerBound, upperBound: $0.value.upperBound)))
    }
}

/// The upstream head the proxy writes, checked by parsing it again with the same strict parser.
func writeAndReparse(_ head: RequestHead, _ input: UnsafeRawBufferPointer) -> ([UInt8], RequestHead) {
    var out = [UInt8](repeating: 0, count: 2 * maxHeaderBytes)
    let n = out.withUnsafeMutableBytes { o in
        clientAddress.withUnsafeBytes { HeadWriter.writeRequest(head, source: input, clientAddress: $0, proto: "http", into: o) }
    }
    guard let n else {
        invariant(false, "the rewritten head did not fit twice the limit")
        return ([], head)
    }
    let written = Array(out[0..<n])
    let (result, reparsed) = written.withUnsafeBytes {
        parse($0, cuts: [], maxBytes: 4 * maxHeaderBytes, maxCount: 2 * maxHeaderCount + 4)
    }
    invariant(result == .complete, "upstream head \(written.withUnsafeBytes(show)) parses as \(result)")
    invariant(reparsed.headLength == n, "upstream head length \(reparsed.headLength) of \(n)")
    return (written, reparsed)
}

func checkHTTP1(_ input: UnsafeRawBufferPointer) {
    let (result, head) = parse(input, cuts: [])
    for round: UInt64 in 0..<3 {
        let cuts = Splits.cuts(of: input, round: round)
        let (r, h) = parse(input, cuts: cuts)
        invariant(sameOutcome(r, result), "cut at \(cuts): \(r), whole: \(result)")
        if result == .complete { invariant(h == head, "cut at \(cuts): another head") }
    }
    switch result {
    case .incomplete:
        invariant(input.count < maxHeaderBytes, "incomplete with \(input.count) bytes, beyond the limit")
        return
    case .error(let e):
        invariant([400, 417, 431, 501, 505].contains(e.status), "a request error with status \(e)")
        return
    case .complete:
        break
    }
    let end = head.headLength
    invariant(end >= 4 && end <= min(input.count, maxHeaderBytes), "headLength \(end) of \(input.count)")
    invariant(Array(input[(end - 4)..<end]) == Array("\r\n\r\n".utf8), "head does not end in CRLF CRLF")
    invariant(head.method != .connect, "CONNECT accepted")
    invariant(head.framing != .untilClose, "a request framed until close")
    invariant(inBounds(head.methodRange, end) && inBounds(head.target, end) && inBounds(head.path, end), "request line ranges")
    invariant(head.path.lowerBound == head.target.lowerBound && head.path.upperBound <= head.target.upperBound, "path not a prefix of target")
    if let host = head.host { invariant(inBounds(host, end), "host out of bounds") }
    if head.versionMinor == 1 { invariant(head.host != nil, "HTTP/1.1 without host") }
    invariant(head.headers.count <= maxHeaderCount, "\(head.headers.count) fields")
    for f in head.headers {
        invariant(inBounds(f.name, end) && inBounds(f.value, end) && !f.name.isEmpty && f.name.upperBound <= f.value.lowerBound,
                  "field ranges \(f)")
    }
    let hostFields = head.headers.filter { $0.wellKnown == .host }.count
    invariant(hostFields <= 1, "\(hostFields) host fields")
    let framingFields = head.headers.filter { $0.wellKnown == .contentLength || $0.wellKnown == .transferEncoding }
    if case .contentLength = head.framing {
        invariant(framingFields.allSatisfy { $0.wellKnown == .contentLength }, "content-length framing with transfer-encoding")
    }

    // What the upstream receives must read back as the same request: the heart of request smuggling.
    let (written, again) = writeAndReparse(head, input)
    written.withUnsafeBytes { w in
        invariant(Array(w.slice(again.methodRange)) == Array(input.slice(head.methodRange)), "method changed")
        invariant(again.method == head.method, "method kind changed")
        let target = Array(input.slice(head.target))
        let expected = target.isEmpty ? Array((head.method == .options ? "*" : "/").utf8)
            : target.first == UInt8(ascii: "?") ? Array("/".utf8) + target : target
        invariant(Array(w.slice(again.target)) == expected, "target \(show(input.slice(head.target))) became \(show(w.slice(again.target)))")
        let host = head.host.map { Array(input.slice($0)) } ?? []
        invariant(again.host.map { Array(w.slice($0)) } == host, "host changed")
        invariant(again.framing == head.framing, "framing \(head.framing) became \(again.framing)")
        invariant(forwardedFields(again, w) == forwardedFields(head, input), "forwarded fields changed: \(show(w))")
        let lengths = again.headers.filter { $0.wellKnown == .contentLength }.count
        if case .contentLength = head.framing { invariant(lengths == 1, "\(lengths) Content-Length fields upstream") }
    }
}
