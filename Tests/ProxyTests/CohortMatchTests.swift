// Cohort rules against a request's view: each condition kind, AND within an entry, OR across entries, case rules.
@testable import Config
import HTTP
@testable import Proxy
import Testing

@Suite struct CohortMatchTests {
    /// The answer of `rules` for `head` over HTTP/1.1, checked to be the same over HTTP/2 (the head's
    /// method, path and fields sent as HTTP/2 fields).
    private func inCohort(_ entries: [CohortEntry], _ head: String) throws -> Bool {
        let rules = try #require(CohortRules(entries))
        let raw = Array(head.utf8)
        var parser = RequestHeadParser(maxHeaderBytes: 8192, maxHeaderCount: 64)
        var request = RequestHead()
        #expect(raw.withUnsafeBytes { parser.parse($0, into: &request) } == .complete)
        let http1 = raw.withUnsafeBytes { source in request.withView(source: source) { rules.matches($0) } }
        #expect(http2Answer(rules, head) == http1, "HTTP/2 differs for \(head.debugDescription)")
        return http1
    }

    private func http2Answer(_ rules: CohortRules, _ head: String) -> Bool {
        let lines = head.components(separatedBy: "\r\n").filter { !$0.isEmpty }
        let requestLine = lines[0].split(separator: " ")
        var fields = [(":method", String(requestLine[0])), (":path", String(requestLine[1])), (":scheme", "http")]
        for line in lines.dropFirst() {
            let parts = line.split(separator: ":", maxSplits: 1)
            let name = parts[0].lowercased(), value = parts[1].trimmingCharacters(in: .whitespaces)
            fields.append(name == "host" ? (":authority", value) : (name, value))
        }
        var request = FieldRequest(maxListSize: 16_384, maxCount: 100)
        var scratch = [UInt8](repeating: 0, count: 4096)
        for (name, value) in fields {
            Array(name.utf8).withUnsafeBytes { n in
                Array(value.utf8).withUnsafeBytes { v in scratch.withUnsafeMutableBytes { request.add(name: n, value: v, scratch: $0) } }
            }
        }
        request.finish()
        return scratch.withUnsafeBytes { all in
            request.withView(source: UnsafeRawBufferPointer(rebasing: all[..<request.used])) { rules.matches($0) }
        }
    }

    private func entry(
        headers: [(String, ValueCondition)] = [], cookies: [(String, ValueCondition)] = [],
        method: String? = nil, pathPrefix: String? = nil
    ) -> CohortEntry {
        var e = CohortEntry()
        e.headers = headers.map { NamedCondition(name: $0.0, value: $0.1) }
        e.cookies = cookies.map { NamedCondition(name: $0.0, value: $0.1) }
        e.method = method
        e.pathPrefix = pathPrefix
        return e
    }

    @Test func noEntriesIsNoCohort() {
        #expect(CohortRules([]) == nil)
    }

    @Test func headerExactPrefixAndRegex() throws {
        let exact = [entry(headers: [("x-canary", .exact("insider"))])]
        #expect(try inCohort(exact, "GET / HTTP/1.1\r\nHost: a\r\nX-Canary: insider\r\n\r\n"))
        #expect(try !inCohort(exact, "GET / HTTP/1.1\r\nHost: a\r\nX-Canary: insiders\r\n\r\n"))
        #expect(try !inCohort(exact, "GET / HTTP/1.1\r\nHost: a\r\nX-Canary: Insider\r\n\r\n"))
        #expect(try !inCohort(exact, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
        let prefix = [entry(headers: [("x-plan", .prefix("beta-"))])]
        #expect(try inCohort(prefix, "GET / HTTP/1.1\r\nHost: a\r\nx-plan: beta-7\r\n\r\n"))
        #expect(try !inCohort(prefix, "GET / HTTP/1.1\r\nHost: a\r\nx-plan: beta\r\n\r\n"))
        let regex = [entry(headers: [("user-agent", .regex(try ByteRegex("^Mozilla.*Firefox")))])]
        #expect(try inCohort(regex, "GET / HTTP/1.1\r\nHost: a\r\nUser-Agent: Mozilla/5.0 (X11) Firefox/120\r\n\r\n"))
        #expect(try !inCohort(regex, "GET / HTTP/1.1\r\nHost: a\r\nUser-Agent: curl/8 Firefox\r\n\r\n"))
    }

    @Test func headerNamesMatchWhateverTheirCase() throws {
        let rules = [entry(headers: [("x-canary", .exact("insider"))])]
        #expect(try inCohort(rules, "GET / HTTP/1.1\r\nHost: a\r\nX-CANARY: insider\r\n\r\n"))
    }

    @Test func cookiesMatchByCaseSensitiveName() throws {
        let rules = [entry(cookies: [("canary", .exact("always"))])]
        #expect(try inCohort(rules, "GET / HTTP/1.1\r\nHost: a\r\nCookie: theme=dark; canary=always\r\n\r\n"))
        #expect(try !inCohort(rules, "GET / HTTP/1.1\r\nHost: a\r\nCookie: Canary=always\r\n\r\n"))
        #expect(try !inCohort(rules, "GET / HTTP/1.1\r\nHost: a\r\nCookie: canary=never\r\n\r\n"))
    }

    @Test func methodsByNameAndByTokenForOthers() throws {
        let get = [entry(method: "GET")]
        #expect(try inCohort(get, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
        #expect(try !inCohort(get, "HEAD / HTTP/1.1\r\nHost: a\r\n\r\n"))
        let purge = [entry(method: "PURGE")]
        #expect(try inCohort(purge, "PURGE / HTTP/1.1\r\nHost: a\r\n\r\n"))
        #expect(try !inCohort(purge, "PURGA / HTTP/1.1\r\nHost: a\r\n\r\n"))
        #expect(try !inCohort(purge, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
    }

    @Test func pathPrefixIsComparedWithThePathWithoutItsQuery() throws {
        let rules = [entry(pathPrefix: "/beta")]
        #expect(try inCohort(rules, "GET /beta/x?y=1 HTTP/1.1\r\nHost: a\r\n\r\n"))
        #expect(try !inCohort(rules, "GET /alpha?p=/beta HTTP/1.1\r\nHost: a\r\n\r\n"))
    }

    @Test func conditionsOfAnEntryAreAndedAndEntriesOred() throws {
        let rules = [
            entry(headers: [("x-canary", .exact("insider"))], method: "GET"),
            entry(cookies: [("canary", .exact("always"))]),
        ]
        #expect(try inCohort(rules, "GET / HTTP/1.1\r\nHost: a\r\nX-Canary: insider\r\n\r\n"))
        #expect(try !inCohort(rules, "POST / HTTP/1.1\r\nHost: a\r\nX-Canary: insider\r\nContent-Length: 0\r\n\r\n"))
        #expect(try inCohort(rules, "POST / HTTP/1.1\r\nHost: a\r\nCookie: canary=always\r\nContent-Length: 0\r\n\r\n"))
        #expect(try !inCohort(rules, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
    }

    @Test func aManagedCanaryIsLiveAboveWeightZeroOrHeldLiveAndAStaticOneAlways() {
        #expect(CompiledRoute.canaryIsLive(managed: false, weight: 0, liveAtZero: false))
        #expect(CompiledRoute.canaryIsLive(managed: false, weight: 30, liveAtZero: false))
        #expect(!CompiledRoute.canaryIsLive(managed: true, weight: 0, liveAtZero: false))
        #expect(CompiledRoute.canaryIsLive(managed: true, weight: 0, liveAtZero: true))
        #expect(CompiledRoute.canaryIsLive(managed: true, weight: 1, liveAtZero: false))
    }
}
