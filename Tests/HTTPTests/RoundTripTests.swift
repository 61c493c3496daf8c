// Property test: random valid request heads survive parse → writeRequest → parse with their meaning intact.

@testable import HTTP
import Testing

private struct Generator {
    var rng: SeededRandom

    mutating func pick<T>(_ options: [T]) -> T { options[Int.random(in: 0..<options.count, using: &rng)] }
    mutating func chance(_ percent: Int) -> Bool { Int.random(in: 0..<100, using: &rng) < percent }

    mutating func string(from alphabet: String, length: ClosedRange<Int>) -> String {
        let chars = Array(alphabet)
        return String((0..<Int.random(in: length, using: &rng)).map { _ in pick(chars) })
    }

    mutating func token(_ length: ClosedRange<Int>) -> String {
        string(from: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~", length: length)
    }

    mutating func ows() -> String { string(from: " \t", length: 0...2) }

    /// A field value: visible characters and inner spaces, never leading or trailing whitespace.
    mutating func value() -> String {
        if chance(10) { return "" }
        let visible = "abcXYZ019!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~é"
        var v = string(from: visible, length: 1...1)
        for _ in 0..<Int.random(in: 0...4, using: &rng) {
            v += (chance(30) ? string(from: " \t", length: 1...2) : "") + string(from: visible, length: 1...8)
        }
        return v
    }

    mutating func path() -> String {
        var p = ""
        for _ in 0..<Int.random(in: 0...4, using: &rng) {
            p += "/" + string(from: "abcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@", length: 0...10)
        }
        if p.isEmpty || chance(20) { p += "/" }
        if chance(40) { p += "?" + string(from: "abc123=&%/?", length: 0...12) }
        return p
    }

    mutating func host() -> String {
        let name = pick(["example.com", "10.1.2.3", "[::1]", "svc-a.internal", "a_b.local"])
        return chance(40) ? "\(name):\(Int.random(in: 1...65535, using: &rng))" : name
    }

    struct Case {
        var text: String
        var forwardedFor: [String]
    }

    mutating func request() -> Case {
        let method = pick(["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "PURGE", "X-CUSTOM"])
        let v10 = chance(20)
        var lines: [String] = []
        let host = host()
        let target = chance(15) ? "http://\(host)\(path())" : path()
        lines.append("\(method) \(target) HTTP/1.\(v10 ? 0 : 1)")
        if !v10 || chance(50) { lines.append("Host:\(ows())\(host)\(ows())") }
        var forwardedFor: [String] = []
        var names: [String] = []
        for _ in 0..<Int.random(in: 0...10, using: &rng) {
            switch Int.random(in: 0..<10, using: &rng) {
            case 0:
                let xff = pick(["1.2.3.4", "1.2.3.4, 5.6.7.8", "[2001:db8::2]", ""])
                forwardedFor.append(xff)
                lines.append("X-Forwarded-For:\(ows())\(xff)\(ows())")
            default:
                let name = "X-" + token(1...12)
                names.append(name)
                lines.append("\(name):\(ows())\(value())\(ows())")
            }
        }
        switch Int.random(in: 0..<3, using: &rng) {
        case 0: lines.append("Content-Length: \(Int.random(in: 0...100_000, using: &rng))")
        case 1 where !v10: lines.append("Transfer-Encoding: chunked")
        default: break
        }
        if !names.isEmpty && chance(30) {
            lines.append("Connection: \(pick(["close", "keep-alive"])), \(pick(names).lowercased())")
        }
        if !v10 && chance(10) { lines.append("Expect: 100-continue") }
        lines.shuffle(using: &rng)
        // The request line stays first; only the fields were meant to be shuffled.
        let requestLine = lines.firstIndex { $0.hasPrefix("\(method) ") }!
        lines.swapAt(0, requestLine)
        let text = (chance(10) ? "\r\n" : "") + lines.joined(separator: "\r\n") + "\r\n\r\n"
        return Case(text: text, forwardedFor: forwardedFor.filter { !$0.isEmpty })
    }
}

@Suite struct RoundTripTests {
    @Test func randomRequestsRoundTrip() {
        var generator = Generator(rng: SeededRandom(seed: 2024))
        let client = bytes("192.0.2.7")
        for _ in 0..<500 {
            let generated = generator.request()
            let raw = bytes(generated.text)
            let (result, head) = parseRequest(raw)
            guard result == .complete else {
                Issue.record("generated request rejected: \(result)\n\(generated.text)")
                continue
            }
            let cuts = (0..<3).map { _ in Int.random(in: 0...raw.count, using: &generator.rng) }.sorted()
            #expect(parseRequestIncrementally(raw, cuts: cuts).1 == head)

            var out = [UInt8](repeating: 0, count: 8192)
            let n = raw.withUnsafeBytes { source in
                client.withUnsafeBytes { address in
                    out.withUnsafeMutableBytes {
                        HeadWriter.writeRequest(head, source: source, clientAddress: address, proto: "https", into: $0)
                    }
                }
            }
            guard let n else {
                Issue.record("output buffer too small")
                continue
            }
            let rewritten = Array(out[..<n])
            let (again, upstream) = parseRequest(rewritten)
            guard again == .complete else {
                Issue.record("rewritten request rejected: \(again)\n\(String(decoding: rewritten, as: UTF8.self))")
                continue
            }
            #expect(upstream.method == head.method)
            #expect(string(upstream.methodRange, in: rewritten) == string(head.methodRange, in: raw))
            let path = string(head.path, in: raw)!
            #expect(string(upstream.path, in: rewritten) == (path.isEmpty ? "/" : path))
            let host = string(head.host, in: raw) ?? ""
            #expect(string(upstream.host, in: rewritten) == host)
            #expect(upstream.framing == head.framing)
            #expect(upstream.versionMinor == 1 && upstream.keepAlive)
            #expect(upstream.headLength == rewritten.count)
            let sent = head.headers.filter { !$0.isHopByHop }
                .map { [string($0.name, in: raw)!, string($0.wellKnown == .host ? head.host : $0.value, in: raw)!] }
            let received = upstream.headers.filter { !$0.isHopByHop }
                .map { [string($0.name, in: rewritten)!, string($0.value, in: rewritten)!] }
            if head.headers.contains(where: { $0.wellKnown == .host }) {
                #expect(received == sent)
            } else {
                #expect(received == sent + [["Host", host]])
            }
            let chain = head.headers.filter { $0.wellKnown == .xForwardedFor && !$0.value.isEmpty }
                .map { string($0.value, in: raw)! }
            #expect(chain.count == generated.forwardedFor.count)
            #expect(string(upstream.forwardedFor, in: rewritten) == (chain + ["192.0.2.7"]).joined(separator: ", "))
            let proto = upstream.headers.first { $0.wellKnown == .xForwardedProto }
            #expect(proto.map { string($0.value, in: rewritten) } == "https")
        }
    }
}
