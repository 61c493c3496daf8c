// The same request rules for both protocols: what the HTTP/1.1 parser refuses, DecodedRequestRules refuses with the same status, and what it accepts passes.

@testable import HTTP
import Testing

/// An HTTP/1.1 request and the same request as decoded HTTP/2 fields.
private struct Pair: CustomStringConvertible, Sendable {
    var label: String
    var method = "GET"
    var target = "/"
    var host = "h"
    var fields: [(String, String)] = []
    var description: String { label }

    var http1: String {
        "\(method) \(target) HTTP/1.1\r\nHost: \(host)\r\n" + fields.map { "\($0.0): \($0.1)\r\n" }.joined() + "\r\n"
    }

    /// Like the HTTP/2 stream: each field checked, then the target's form and (CONNECT) the extended
    /// CONNECT rules once the head ended.
    func decodedVerdict() -> HTTPParseError? {
        var rules = DecodedRequestRules()
        let all = [(":method", method), (":scheme", "http"), (":authority", host), (":path", target)] + fields
        for (name, value) in all {
            if let error = check(&rules, name, value) { return error }
        }
        let method = Array(method.utf8).withUnsafeBytes { HTTPMethod($0, ByteRange(lowerBound: 0, upperBound: $0.count)) }
        let targetError = Array(target.utf8).withUnsafeBytes { t -> HTTPParseError? in
            do throws(HTTPParseError) { try rules.checkTarget(path: t, method: method); return nil } catch { return error }
        }
        if let targetError { return targetError }
        if case .refused(let error) = ExtendedConnect.decide(method: method, connectProtocol: nil) { return error }
        return nil
    }
}

/// The verdict of `rules` on one field.
private func check(_ rules: inout DecodedRequestRules, _ name: String, _ value: String) -> HTTPParseError? {
    Array(name.utf8).withUnsafeBytes { n -> HTTPParseError? in
        Array(value.utf8).withUnsafeBytes { v -> HTTPParseError? in
            do throws(HTTPParseError) { try rules.check(name: n, value: v); return nil } catch { return error }
        }
    }
}

private let pairs: [Pair] = [
    Pair(label: "fragment", target: "/a#b"),
    Pair(label: "raw UTF-8 in the target", target: "/caf\u{E9}"),
    Pair(label: "DEL in the target", target: "/a\u{7F}"),
    Pair(label: "control byte in the target", target: "/a\u{01}"),
    Pair(label: "asterisk for GET", target: "*"),
    Pair(label: "asterisk for OPTIONS", method: "OPTIONS", target: "*"),
    Pair(label: "no leading slash", target: "a/b"),
    Pair(label: "userinfo in the authority", host: "u@x"),
    Pair(label: "path in the authority", host: "x/y"),
    Pair(label: "port too long", host: "x:123456"),
    Pair(label: "unclosed IPv6", host: "[::1"),
    Pair(label: "IPv6 with port", host: "[::1]:8080"),
    Pair(label: "percent-encoded reg-name", host: "a%41b"),
    Pair(label: "bad percent-encoding", host: "a%4"),
    Pair(label: "delimiter in the method", method: "GE(T"),
    Pair(label: "CONNECT", method: "CONNECT"),
    Pair(label: "unknown token method", method: "PURGE"),
    Pair(label: "delimiter in a field name", fields: [("x(a", "1")]),
    Pair(label: "control byte in a value", fields: [("x-a", "a\u{01}b")]),
    Pair(label: "DEL in a value", fields: [("x-a", "a\u{7F}b")]),
    Pair(label: "obs-text in a value", fields: [("x-a", "caf\u{E9}")]),
    Pair(label: "HTAB in a value", fields: [("x-a", "a\tb")]),
    Pair(label: "query with reserved characters", target: "/p?q=a:b@c/d*e"),
]

@Suite struct RequestRulesTests {
    @Test(arguments: pairs)
    fileprivate func bothProtocolsReachTheSameVerdict(_ pair: Pair) {
        let (result, _) = parseRequest(pair.http1)
        let http1: HTTPParseError? = if case .error(let e) = result { e } else { nil }
        #expect(result == .complete || http1 != nil, "\(pair.label): the HTTP/1.1 fixture is incomplete")
        #expect(
            pair.decodedVerdict()?.status == http1?.status,
            "\(pair.label): HTTP/1.1 \(http1.map { "\($0)" } ?? "accepted"), HTTP/2 \(pair.decodedVerdict().map { "\($0)" } ?? "accepted")")
    }

    @Test func aSecondHostFieldIsRefusedAsOverHTTP1() {
        var rules = DecodedRequestRules()
        #expect(check(&rules, "host", "x") == nil)
        #expect(check(&rules, "host", "x") == .badRequest("more than one host field"))
        rules.reset()
        #expect(check(&rules, "host", "x") == nil)
    }

    @Test func absoluteFormIsAnHTTP1TargetOnly() {
        let (result, head) = parseRequest("GET http://x:81/p?q HTTP/1.1\r\nHost: y\r\n\r\n")
        #expect(result == .complete)
        #expect(string(head.host, in: bytes("GET http://x:81/p?q HTTP/1.1\r\nHost: y\r\n\r\n")) == "x:81")
        let pair = Pair(label: "absolute", target: "http://x:81/p?q")
        #expect(pair.decodedVerdict() == .badRequest("invalid request-target"))
    }

    @Test func onlyHTTPAndHTTPSSchemes() {
        var rules = DecodedRequestRules()
        for (scheme, ok) in [("http", true), ("https", true), ("HTTPS", true), ("foo", false), ("", false)] {
            let verdict = check(&rules, ":scheme", scheme)
            #expect((verdict == nil) == ok, "\(scheme): \(verdict.map { "\($0)" } ?? "accepted")")
        }
    }
}
