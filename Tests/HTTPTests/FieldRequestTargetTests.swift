// FieldRequest refuses the :path and :authority values nghttp2 lets through but HTTP/1.1 cannot carry (found by fuzzing).
import HTTP
import Testing

/// Collects `fields` as the HTTP/2 decoder delivers them, finishes, and writes the HTTP/1.1 head when accepted.
private func forward(_ fields: [(String, [UInt8])]) -> (problem: FieldRequest.Problem?, head: [UInt8]?) {
    var request = FieldRequest(maxListSize: 16_384, maxCount: 100)
    var scratch = [UInt8](repeating: 0, count: 4096)
    for (name, value) in fields {
        Array(name.utf8).withUnsafeBytes { n in
            value.withUnsafeBytes { v in scratch.withUnsafeMutableBytes { request.add(name: n, value: v, scratch: $0) } }
        }
    }
    request.finish()
    guard request.problem == nil else { return (request.problem, nil) }
    var out = [UInt8](repeating: 0, count: 4096)
    let n = scratch.withUnsafeBytes { s in
        Array("192.0.2.7".utf8).withUnsafeBytes { a in
            out.withUnsafeMutableBytes { o in
                request.writeHTTP1(source: UnsafeRawBufferPointer(rebasing: s[..<request.used]), clientAddress: a,
                                   proto: "https", chunkedBody: false, into: o)
            }
        }
    }
    return (nil, n.map { Array(out[..<$0]) })
}

private func request(method: String = "GET", path: String? = "/", authority: [UInt8]? = Array("a.example".utf8),
                     host: [UInt8]? = nil) -> [(String, [UInt8])] {
    var fields: [(String, [UInt8])] = [(":method", Array(method.utf8)), (":scheme", Array("https".utf8))]
    if let authority { fields.append((":authority", authority)) }
    if let path { fields.append((":path", Array(path.utf8))) }
    if let host { fields.append(("host", host)) }
    return fields
}

@Suite struct FieldRequestTargetTests {
    /// Each of these passes nghttp2's checks (nghttp2_check_path / nghttp2_check_authority accept them, and it
    /// only holds :path to origin-form for the http and https schemes), yet the HTTP/1.1 head written from it
    /// is one Canarygate's own parser refuses with 400: it must be refused here rather than sent upstream.
    static let unforwardable: [(String, [(String, [UInt8])])] = [
        ("path not in origin-form (any :scheme but http/https)", request(path: "xyz")),
        ("asterisk-form for GET", request(path: "*")),
        ("fragment in path", request(path: "/a#b")),
        ("raw non-ASCII byte in path", request(path: nil) + [(":path", [0x2F, 0x80])]),
        ("userinfo in :authority", request(authority: Array("user@a.example".utf8))),
        ("two colons in :authority", request(authority: Array("a:b:c".utf8))),
        ("bad percent-escape in :authority", request(authority: Array("%zz".utf8))),
        ("userinfo in host", request(authority: nil, host: Array("user@a.example".utf8))),
    ]

    @Test(arguments: unforwardable.indices)
    func anUnforwardableTargetIsRefused(_ index: Int) {
        let (label, fields) = Self.unforwardable[index]
        let (problem, head) = forward(fields)
        if let head {
            let (result, _) = parseRequest(head)
            Issue.record("\(label): forwarded as \(String(decoding: head, as: UTF8.self).debugDescription), which parses as \(result)")
        }
        #expect(problem == .malformed, "\(label)")
    }

    @Test func originFormAsteriskForOptionsAndEmptyAuthorityStillForward() {
        for fields in [request(path: "/a/b?c=d%20e&f=~!$'()*+,;=:@"), request(method: "OPTIONS", path: "*"),
                       request(authority: []), request(authority: Array("[::1]:8443".utf8)), request(authority: nil, host: [])] {
            let (problem, head) = forward(fields)
            #expect(problem == nil)
            let (result, _) = parseRequest(head ?? [])
            #expect(result == .complete)
        }
    }
}
