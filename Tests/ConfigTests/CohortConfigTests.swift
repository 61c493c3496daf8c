// `canary.match` (cohorts): decoded entries, name case rules, and every error with its line.
import Config
import Testing

@Suite struct CohortConfigTests {
    /// A route whose canary has `match:` on line 12 and `body` from line 13, indented under it.
    private func config(_ body: String...) -> String { config(lines: body) }

    private func config(lines body: [String]) -> String {
        minimalConfig
            + """
                canary:
                  revision: v2
                  endpoints: ["127.0.0.1:9002"]
                  match:
            \(body.map { "        " + $0 }.joined(separator: "\n"))

            """
    }

    private func entries(_ body: String...) throws -> [CohortEntry] {
        try #require(try ConfigLoader.parse(config(lines: body)).routes[0].canary).match
    }

    @Test func aCanaryWithoutMatchHasNoCohort() throws {
        let yaml = minimalConfig + "    canary: { revision: v2, endpoints: [\"127.0.0.1:9002\"] }\n"
        #expect(try ConfigLoader.parse(yaml).routes[0].canary?.match == [])
    }

    @Test func headerNamesAreStoredLowerCaseAndCookieNamesAsWritten() throws {
        let decoded = try entries(
            "- headers: { X-Canary: { exact: insider }, x-Plan: { prefix: beta- } }",
            "  cookies: { Canary: { regex: \"^al+ways$\" } }",
            "  method: PURGE",
            "  pathPrefix: /beta",
            "- method: GET",
        )
        #expect(decoded.count == 2)
        #expect(decoded[0].headers.map(\.name) == ["x-canary", "x-plan"])
        #expect(decoded[0].headers.map(\.value) == [.exact("insider"), .prefix("beta-")])
        #expect(decoded[0].cookies.map(\.name) == ["Canary"])
        guard case .regex(let regex) = decoded[0].cookies[0].value else { Issue.record("not a regex"); return }
        #expect(regex.pattern == "^al+ways$")
        #expect(decoded[0].method == "PURGE")
        #expect(decoded[0].pathPrefix == "/beta")
        #expect(decoded[1].method == "GET" && decoded[1].headers.isEmpty && decoded[1].pathPrefix == nil)
    }

    @Test func unknownKeysAreErrors() {
        #expect(
            problems(config("- { method: GET, query: { a: { exact: b } } }")) == [
                "routes[0].canary.match[0].query: unknown key (line 13)"
            ])
        #expect(
            problems(config("- headers: { x-a: { exact: b, suffix: c } }")) == [
                "routes[0].canary.match[0].headers.x-a.suffix: unknown key (line 13)"
            ])
    }

    @Test func anEntryNeedsACondition() {
        #expect(
            problems(config("- {}")) == [
                "routes[0].canary.match[0]: needs at least one condition: headers, cookies, method or pathPrefix (line 13)"
            ])
        #expect(problems(config("- headers: {}")) == ["routes[0].canary.match[0].headers: needs at least one header (line 13)"])
        #expect(problems(config("[]")) == ["routes[0].canary.match: needs at least one entry (line 13)"])
    }

    @Test func aValueConditionHasExactlyOneOfExactPrefixAndRegex() {
        #expect(
            problems(config("- headers: { x-a: {} }")) == [
                "routes[0].canary.match[0].headers.x-a: needs one of exact, prefix or regex (line 13)"
            ])
        #expect(
            problems(config("- cookies:", "    c:", "      exact: a", "      regex: b")) == [
                "routes[0].canary.match[0].cookies.c.regex: cannot be written with exact: use one of exact, prefix or regex (line 16)"
            ])
    }

    @Test func anInvalidRegexIsReportedAtItsLine() {
        #expect(
            problems(config("- headers:", "    x-a: { regex: \"(a|b)\" }")) == [
                "routes[0].canary.match[0].headers.x-a.regex: \"(\" is not supported: the dialect has no groups, alternation or "
                    + "counted repetition; escape it as \"\\(\" to match it (line 14)"
            ])
        #expect(
            problems(config("- cookies: { c: { regex: \"[a-\" } }")) == [
                "routes[0].canary.match[0].cookies.c.regex: has a \"[\" without its \"]\" (line 13)"
            ])
        #expect(
            problems(config("- cookies: { c: { regex: \"*a\" } }")) == [
                "routes[0].canary.match[0].cookies.c.regex: \"*\" must follow a character, a class or \".\" (line 13)"
            ])
    }

    @Test func namesMethodsAndPathPrefixesAreChecked() {
        #expect(
            problems(config("- headers: { \"x a\": { exact: b } }")) == [
                "routes[0].canary.match[0].headers.x a: is not a valid header name (letters, digits and !#$%&'*+-.^_`|~ only) (line 13)"
            ])
        #expect(
            problems(config("- headers: { Host: { exact: b } }")) == [
                "routes[0].canary.match[0].headers.Host: cannot be matched: routing does not see this header (line 13)"
            ])
        #expect(
            problems(config("- method: \"GE T\"")) == [
                "routes[0].canary.match[0].method: \"GE T\" is not a method (letters, digits and !#$%&'*+-.^_`|~ only) (line 13)"
            ])
        #expect(
            problems(config("- method: get")) == [
                "routes[0].canary.match[0].method: \"get\" is not GET: methods are case-sensitive (line 13)"
            ])
        #expect(
            problems(config("- pathPrefix: beta")) == [
                "routes[0].canary.match[0].pathPrefix: \"beta\" must start with \"/\" (line 13)"
            ])
    }

    @Test func matchWithoutACanaryArmIsNotACanary() {
        // `match` lives under `canary`, so a route without a canary cannot have one; a canary that is only
        // `match` lacks its arm.
        #expect(
            problems(minimalConfig + "    canary: { match: [ { method: GET } ] }\n") == [
                "routes[0].canary.revision: required (line 9)",
                "routes[0].canary.endpoints: required (line 9)",
            ])
    }
}
