// The HTTP/2 half of `http1-request`: fields nghttp2 would deliver go through the request rules and FieldRequest to an HTTP/1.1 head.
import CNGHTTP2Checks
import FuzzSupport
import HTTP

/// The input read as one field per line, "name:value" (a leading ':' belongs to the name), kept only as far as
/// nghttp2 (server side, HTTP messaging enforced, as the proxy runs it) would deliver them; nil when it would
/// reset the stream instead.
func decodedFields(_ input: UnsafeRawBufferPointer) -> [(name: [UInt8], value: [UInt8])]? {
    var fields: [(name: [UInt8], value: [UInt8])] = []
    var pseudo: Set<[UInt8]> = []
    var regularSeen = false
    var contentLengthSeen = false
    var method: [UInt8] = []
    var path: [UInt8]? = nil
    var scheme: [UInt8]? = nil
    var hasAuthority = false
    for line in input.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
        guard let colon = line.dropFirst().firstIndex(of: UInt8(ascii: ":")) else { continue }
        let name = Array(line[line.startIndex..<colon])
        let value = Array(line[(colon + 1)...])
        let isPseudo = name.first == UInt8(ascii: ":")
        let valid = name.withUnsafeBufferPointer { n in value.withUnsafeBufferPointer { v in
            checkField(n, v, pseudo: isPseudo)
        } }
        guard valid else {
            // An invalid pseudo-field or an upper-case name resets the stream; other invalid fields are dropped.
            if isPseudo || name.contains(where: { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }) { return nil }
            regularSeen = true
            continue
        }
        if isPseudo {
            guard !regularSeen, pseudo.insert(name).inserted else { return nil }
            switch String(decoding: name, as: UTF8.self) {
            case ":method": method = value
            case ":path":
                guard !value.isEmpty else { return nil }
                path = value
            case ":scheme": scheme = value
            default: hasAuthority = true  // ":authority", the only other one checkField lets through
            }
        } else {
            regularSeen = true
            switch String(decoding: name, as: UTF8.self) {
            case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade": return nil
            case "te": guard value.map({ $0 | 0x20 }) == Array("trailers".utf8) else { return nil }
            case "host": hasAuthority = true
            case "content-length":
                // nghttp2_parse_uint: decimal digits within Int64.
                guard !contentLengthSeen, !value.isEmpty, value.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                      let n = UInt64(String(decoding: value, as: UTF8.self)), n <= UInt64(Int64.max) else { return nil }
                contentLengthSeen = true
            default: break
            }
        }
        fields.append((name, value))
    }
    guard !method.isEmpty, let scheme, let path, hasAuthority, method != Array("CONNECT".utf8) else { return nil }
    // nghttp2 holds http(s) requests to origin-form, or asterisk-form for OPTIONS; other schemes pass as they are.
    let lowerScheme = scheme.map { $0 | 0x20 }
    if lowerScheme == Array("http".utf8) || lowerScheme == Array("https".utf8) {
        guard path.first == UInt8(ascii: "/") || (path == [UInt8(ascii: "*")] && method == Array("OPTIONS".utf8)) else { return nil }
    }
    return fields
}

private func checkField(_ n: UnsafeBufferPointer<UInt8>, _ v: UnsafeBufferPointer<UInt8>, pseudo: Bool) -> Bool {
    let name = String(decoding: n, as: UTF8.self)
    switch name {
    case ":method": return nghttp2_check_method(v.baseAddress, v.count) != 0
    case ":path": return nghttp2_check_path(v.baseAddress, v.count) != 0
    case ":authority", "host": return nghttp2_check_authority(v.baseAddress, v.count) != 0
    case ":scheme":
        // nghttp2's check_scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
        guard let first = v.first, (first | 0x20) >= 0x61 && (first | 0x20) <= 0x7a else { return false }
        return v.allSatisfy { b in (b | 0x20) >= 0x61 && (b | 0x20) <= 0x7a || (b >= 0x30 && b <= 0x39) || b == 0x2b || b == 0x2d || b == 0x2e }
    default:
        // An unknown pseudo-field (":protocol" included: extended CONNECT is not enabled) resets the stream.
        if pseudo { return false }
        return nghttp2_check_header_name(n.baseAddress, n.count) != 0
            && nghttp2_check_header_value_rfc9113(v.baseAddress, v.count) != 0
    }
}

func checkHTTP2Fields(_ input: UnsafeRawBufferPointer) {
    guard let fields = decodedFields(input) else { return }
    let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: maxHeaderBytes, alignment: 1)
    defer { scratch.deallocate() }
    var request = FieldRequest(maxListSize: maxHeaderBytes, maxCount: maxHeaderCount)
    // As H2Stream does: every field through the HTTP/1.1 parser's rules, then the target's form.
    var rules = DecodedRequestRules()
    var refused = false
    for field in fields {
        field.name.withUnsafeBytes { n in field.value.withUnsafeBytes { v in
            request.add(name: n, value: v, scratch: scratch)
            if !refused && request.problem == nil {
                do { try rules.check(name: n, value: v) } catch { refused = true }
            }
        } }
        invariant(request.used <= scratch.count, "scratch overrun: \(request.used)")
    }
    request.finish()
    guard request.problem == nil, !refused else { return }
    let source = UnsafeRawBufferPointer(start: scratch.baseAddress, count: request.used)
    if let target = request.target {
        do { try rules.checkTarget(path: source.slice(target), method: request.method) } catch { return }
    }
    invariant(request.method != .connect, "CONNECT got through")
    for chunkedBody in [false, true] where !(chunkedBody && request.hasContentLength) {
        var out = [UInt8](repeating: 0, count: 2 * maxHeaderBytes)
        let n = out.withUnsafeMutableBytes { o in
            clientAddress.withUnsafeBytes {
                request.writeHTTP1(source: source, clientAddress: $0, proto: "https", chunkedBody: chunkedBody, into: o)
            }
        }
        guard let n else {
            invariant(false, "the HTTP/1.1 head did not fit twice the limit")
            return
        }
        let written = Array(out[0..<n])
        let (result, head) = written.withUnsafeBytes {
            parse($0, cuts: [], maxBytes: 4 * maxHeaderBytes, maxCount: 2 * maxHeaderCount + 4)
        }
        // An HTTP/2 request the proxy forwards must be one its own HTTP/1.1 parser accepts unchanged.
        invariant(result == .complete, "HTTP/2 fields \(show(input)) became \(written.withUnsafeBytes(show)), which parses as \(result)")
        invariant(head.headLength == n, "head length \(head.headLength) of \(n)")
        written.withUnsafeBytes { w in
            let method = fields.first { $0.name == Array(":method".utf8) }!.value
            let path = fields.first { $0.name == Array(":path".utf8) }!.value
            invariant(Array(w.slice(head.methodRange)) == method, "method changed")
            invariant(Array(w.slice(head.target)) == path, "path \(path) became \(show(w.slice(head.target)))")
            let length = fields.first { $0.name == Array("content-length".utf8) }.map { UInt64(String(decoding: $0.value, as: UTF8.self))! }
            let framing: BodyFraming = chunkedBody ? .chunked : length.map { .contentLength($0) } ?? .none
            invariant(head.framing == framing, "framing \(framing) became \(head.framing)")
        }
    }
}
