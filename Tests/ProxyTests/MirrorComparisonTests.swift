// The comparison of a mirrored pair without sockets: status, body bytes, headers, latency, JSON fields ignored.
@testable import Config
import HTTP
@testable import Proxy
import Testing

@Suite struct MirrorComparisonTests {
    /// A response as the slot holds it: its head parsed, its body fed as framed (in two pieces).
    private struct Side {
        var head: [UInt8]
        var parsed = ResponseHead()
        var body = MirrorBodyCapture()
        var latency: UInt64

        init(_ head: String, body: String = "", chunked: Bool = false, latencyMs: UInt64 = 10, limit: Int = 1024) {
            self.head = Array(head.utf8)
            latency = latencyMs * 1_000_000
            var parser = ResponseHeadParser(maxHeaderBytes: 8192, maxHeaderCount: 64)
            var parsed = ResponseHead()
            _ = self.head.withUnsafeBytes { parser.parse($0, requestMethod: .get, into: &parsed) }
            self.parsed = parsed
            let raw = Array(body.utf8)
            let cut = raw.count / 2
            var capture = MirrorBodyCapture()
            capture.begin(limit: limit, framing: parsed.framing)
            raw[..<cut].withUnsafeBytes { capture.feed($0) }
            raw[cut...].withUnsafeBytes { capture.feed($0) }
            self.body = capture
        }
    }

    private func differences(_ policy: MirrorComparePolicy, _ a: Side, _ b: Side) -> MirrorDifferences {
        a.head.withUnsafeBytes { ha in
            b.head.withUnsafeBytes { hb in
                policy.differences(
                    primary: MirrorResponse(
                        status: a.parsed.status, head: ha, headers: a.parsed.headers, body: a.body, latencyNanoseconds: a.latency),
                    mirror: MirrorResponse(
                        status: b.parsed.status, head: hb, headers: b.parsed.headers, body: b.body, latencyNanoseconds: b.latency))
            }
        }
    }

    private func policy(_ configure: (inout MirrorCompareConfig) -> Void = { _ in }) -> MirrorComparePolicy {
        var config = MirrorCompareConfig()
        configure(&config)
        return MirrorComparePolicy(config)
    }

    private let ok = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n"

    @Test func identicalResponsesDoNotDiffer() {
        #expect(!differences(policy(), Side(ok, body: "hello"), Side(ok, body: "hello")).any)
    }

    @Test func aStatusDifference() {
        let d = differences(
            policy(), Side(ok, body: "hello"),
            Side("HTTP/1.1 500 Oops\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n", body: "hello"))
        #expect(d == MirrorDifferences(status: true, body: false, latency: false))
        #expect(
            !differences(
                policy { $0.status = false }, Side(ok, body: "hello"),
                Side("HTTP/1.1 500 Oops\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n", body: "hello")
            ).any)
    }

    @Test func aBodyDifferenceAndTheFramingIsNotOne() {
        #expect(differences(policy(), Side(ok, body: "hello"), Side(ok, body: "hellO")) == MirrorDifferences(body: true))
        let chunked = Side(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n", body: "2\r\nhe\r\n3\r\nllo\r\n0\r\n\r\n")
        #expect(!differences(policy(), Side(ok, body: "hello"), chunked).any, "the same body framed otherwise")
        #expect(!differences(policy { $0.body = false }, Side(ok, body: "hello"), Side(ok, body: "world")).any)
    }

    @Test func bodiesLongerThanTheLimitAreComparedWholeByHash() {
        let head = "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n"
        #expect(differences(policy(), Side(head, body: "abcdefgh", limit: 4), Side(head, body: "abcdefgX", limit: 4)).body)
        #expect(!differences(policy(), Side(head, body: "abcdefgh", limit: 4), Side(head, body: "abcdefgh", limit: 4)).body)
    }

    @Test func headerFieldsAreComparedButNotDateFramingHopByHopOrIgnoredOnes() {
        let a = Side(
            "HTTP/1.1 200 OK\r\nDate: Mon\r\nContent-Type: text/plain\r\nX-Id: 1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
        let b = Side("HTTP/1.1 200 OK\r\nx-id: 2\r\nDate: Tue\r\ncontent-type: text/plain\r\nContent-Length: 0\r\n\r\n")
        #expect(differences(policy(), a, b).body, "X-Id differs")
        #expect(!differences(policy { $0.ignoreHeaders = ["X-ID"] }, a, b).any, "order, name case, Date and Connection do not count")
        let extra = Side("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Id: 1\r\nVary: accept\r\nContent-Length: 0\r\n\r\n")
        #expect(differences(policy { $0.ignoreHeaders = ["x-id"] }, a, extra).body, "a field only one side has")
    }

    @Test func latencyBeyondTheRatioAndTheFloor() {
        let p = policy {
            $0.latencyRatio = 2; $0.latencyFloor = .milliseconds(50)
        }
        #expect(
            !differences(p, Side(ok, body: "hello", latencyMs: 10), Side(ok, body: "hello", latencyMs: 59)).latency,
            "within primary + floor")
        #expect(differences(p, Side(ok, body: "hello", latencyMs: 10), Side(ok, body: "hello", latencyMs: 61)).latency)
        #expect(
            !differences(p, Side(ok, body: "hello", latencyMs: 200), Side(ok, body: "hello", latencyMs: 399)).latency, "within the ratio")
        #expect(differences(p, Side(ok, body: "hello", latencyMs: 200), Side(ok, body: "hello", latencyMs: 401)).latency)
        #expect(
            !differences(policy { $0.latency = false }, Side(ok, body: "hello", latencyMs: 1), Side(ok, body: "hello", latencyMs: 9000)).any
        )
    }

    private func json(_ body: String) -> Side {
        Side("HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: \(body.utf8.count)\r\n\r\n", body: body)
    }

    @Test func jsonFieldsListedAreIgnored() {
        let a = json(#"{"id": 7, "meta": {"requestId": "a1", "v": 1}, "at": 1, "items": [{"x": 1, "t": 5}]}"#)
        let b = json(#"{"items":[{"t":6,"x":1}],"at":2,"meta":{"v":1.0,"requestId":"b2"},"id":7}"#)
        #expect(differences(policy(), a, b).body, "bytes differ")
        #expect(!differences(policy { $0.ignoreJSONFields = ["meta.requestId", "at", "items.t"] }, a, b).body)
        #expect(differences(policy { $0.ignoreJSONFields = ["meta.requestId", "at"] }, a, b).body, "items.t still differs")
        let c = json(#"{"id": 8, "meta": {"requestId": "c3", "v": 1}, "at": 3, "items": [{"x": 1, "t": 5}]}"#)
        #expect(differences(policy { $0.ignoreJSONFields = ["meta.requestId", "at", "items.t"] }, a, c).body, "id differs")
    }

    @Test func ignoredJSONFieldsNeedJSONOnBothSides() {
        let text = Side("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 8\r\n\r\n", body: #"{"at":1}"#)
        let other = Side("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 8\r\n\r\n", body: #"{"at":2}"#)
        #expect(differences(policy { $0.ignoreJSONFields = ["at"] }, text, other).body)
    }

    @Test func theJSONReader() {
        #expect(
            MirrorJSON.parse(Array(#" {"a": [1, true, null, "\u00e9\n"]} "#.utf8))
                == .object([Array("a".utf8): .array([.number(1), .bool(true), .null, .string(Array("é\n".utf8))])]))
        #expect(MirrorJSON.parse(Array(#"{"a": 1"#.utf8)) == nil)
        #expect(MirrorJSON.parse(Array(#"{"a": 1} x"#.utf8)) == nil)
        #expect(MirrorJSON.parse(Array(String(repeating: "[", count: 100).utf8)) == nil, "too deep")
        #expect(MirrorJSON.parse(Array(#""\ud83d\ude00""#.utf8)) == .string(Array("😀".utf8)))
    }

    /// A hostile body's nesting is bounded on a complete document too (the loop's stack is at stake):
    /// `maxDepth` levels parse, one more is refused.
    @Test func theJSONReadersDepthIsBoundedOnCompleteDocuments() {
        func nested(_ depth: Int, _ open: String, _ inner: String, _ close: String) -> [UInt8] {
            Array((String(repeating: open, count: depth) + inner + String(repeating: close, count: depth)).utf8)
        }
        #expect(MirrorJSON.parse(nested(MirrorJSON.maxDepth, "[", "", "]")) != nil)
        #expect(MirrorJSON.parse(nested(MirrorJSON.maxDepth + 1, "[", "", "]")) == nil)
        #expect(MirrorJSON.parse(nested(100_000, "[", "", "]")) == nil)
        #expect(MirrorJSON.parse(nested(MirrorJSON.maxDepth - 1, #"{"a":"#, "0", "}")) != nil)
        #expect(MirrorJSON.parse(nested(MirrorJSON.maxDepth, #"{"a":"#, "0", "}")) == nil)
    }
}
