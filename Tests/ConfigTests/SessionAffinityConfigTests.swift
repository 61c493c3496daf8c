// `routes[].sessionAffinity`: defaults, every field decoded, and each error with its path and line.
import Config
import Testing

@Suite struct SessionAffinityConfigTests {
    /// `minimalConfig` plus a canary (line 9) and `sessionAffinity:` (line 10) holding `body` from line 11.
    private func config(_ body: String...) -> String { config(lines: body) }

    private func config(lines body: [String]) -> String {
        minimalConfig + "    canary: { revision: v2, endpoints: [\"127.0.0.1:9002\"] }\n    sessionAffinity:\n"
            + body.map { "      " + $0 }.joined(separator: "\n") + "\n"
    }

    private func decoded(_ body: String...) throws -> SessionAffinityConfig {
        try #require(try ConfigLoader.parse(config(lines: body)).routes[0].sessionAffinity)
    }

    @Test func defaultsAreFlaggersWithAPinnedPrimary() throws {
        let a = try decoded("cookieName: canary")
        #expect(a.cookieName == "canary" && a.primaryCookieName == "canary-primary")
        #expect(a.maxAge == 86400 && a.domain == nil && a.path == "/" && a.sameSite == nil && !a.secure && !a.httpOnly)
        #expect(try ConfigLoader.parse(minimalConfig).routes[0].sessionAffinity == nil)
    }

    @Test func everyFieldIsDecoded() throws {
        let a = try decoded(
            "cookieName: flagger-cookie", "primaryCookieName: stay", "maxAge: 3600", "domain: .shop.example", "path: /app",
            "sameSite: None", "secure: true", "httpOnly: true")
        #expect(a.cookieName == "flagger-cookie" && a.primaryCookieName == "stay" && a.maxAge == 3600)
        #expect(a.domain == ".shop.example" && a.path == "/app" && a.sameSite == SessionAffinityConfig.SameSite.none)
        #expect(a.secure && a.httpOnly)
    }

    @Test func cookieNameIsRequiredAndATokenDistinctFromThePrimarys() {
        #expect(problems(config("maxAge: 60")) == ["routes[0].sessionAffinity.cookieName: required (line 11)"])
        #expect(
            problems(config("cookieName: \"a b\"")) == [
                "routes[0].sessionAffinity.cookieName: \"a b\" is not a valid cookie name (letters, digits and !#$%&'*+-.^_`|~ only) (line 11)"
            ])
        #expect(
            problems(config("cookieName: c", "primaryCookieName: \"x;y\"")) == [
                "routes[0].sessionAffinity.primaryCookieName: \"x;y\" is not a valid cookie name (letters, digits and !#$%&'*+-.^_`|~ only) (line 12)"
            ])
        #expect(
            problems(config("cookieName: c", "primaryCookieName: c")) == [
                "routes[0].sessionAffinity.primaryCookieName: must differ from cookieName: the cookie's name tells the arms apart (line 12)"
            ])
    }

    @Test func sameSiteNoneRequiresSecure() {
        #expect(
            problems(config("cookieName: c", "sameSite: None")) == [
                "routes[0].sessionAffinity.sameSite: None requires secure: true (browsers reject SameSite=None cookies without Secure) (line 12)"
            ])
        #expect(problems(config("cookieName: c", "sameSite: None", "secure: true")) == [])
        #expect(
            problems(config("cookieName: c", "sameSite: lax")) == [
                "routes[0].sessionAffinity.sameSite: \"lax\" is not a SameSite value; expected Strict or Lax or None (line 12)"
            ])
    }

    /// A cookie a browser would drop, or scope by attributes it ignores, is refused: the client would be
    /// drawn afresh on every request, silently.
    @Test func namesAndAttributesAreBoundedAsBrowsersBoundThem() {
        let longName = String(repeating: "n", count: 4075)
        #expect(
            problems(config("cookieName: \(longName)")) == [
                "routes[0].sessionAffinity.cookieName: is 4075 bytes long, more than 4074 (browsers drop a cookie over 4096 bytes) (line 11)"
            ])
        #expect(problems(config("cookieName: \(String(repeating: "n", count: 4074))")) == [])
        let longPath = "/" + String(repeating: "p", count: 1024)
        #expect(
            problems(config("cookieName: c", "path: \(longPath)")) == [
                "routes[0].sessionAffinity.path: is 1025 bytes long, more than 1024 (browsers ignore a longer cookie attribute) (line 12)"
            ])
        let longDomain = Array(repeating: String(repeating: "d", count: 60), count: 17).joined(separator: ".")
        #expect(
            problems(config("cookieName: c", "domain: \(longDomain)")) == [
                "routes[0].sessionAffinity.domain: is 1036 bytes long, more than 1024 (browsers ignore a longer cookie attribute) (line 12)"
            ])
    }

    @Test func attributesAreChecked() {
        #expect(problems(config("cookieName: c", "maxAge: 0")) == ["routes[0].sessionAffinity.maxAge: 0 must be at least 1 (line 12)"])
        #expect(
            problems(config("cookieName: c", "path: app")) == ["routes[0].sessionAffinity.path: \"app\" must start with \"/\" (line 12)"])
        #expect(
            problems(config("cookieName: c", "path: \"/a;b\"")) == [
                "routes[0].sessionAffinity.path: \"/a;b\" may not hold \";\", spaces, controls or non-ASCII (line 12)"
            ])
        #expect(
            problems(config("cookieName: c", "domain: \"a..b\"")) == [
                "routes[0].sessionAffinity.domain: \"a..b\" is not a domain (letters, digits and \"-\" in labels separated by \".\") (line 12)"
            ])
        #expect(
            problems(config("cookieName: c", "secure: yes")) == [
                "routes[0].sessionAffinity.secure: expected true or false, found \"yes\" (line 12)"
            ])
        #expect(problems(config("cookieName: c", "ttl: 5")) == ["routes[0].sessionAffinity.ttl: unknown key (line 12)"])
    }

    @Test func affinityRequiresACanary() {
        #expect(
            problems(minimalConfig + "    sessionAffinity: { cookieName: c }\n") == [
                "routes[0].sessionAffinity: requires a canary (line 9)"
            ])
    }
}

@Suite struct MinClientsConfigTests {
    @Test func minClientsDefaultsToTwentyAndIsAtLeastOne() throws {
        #expect(try ConfigLoader.parse(withAnalysis("interval: 1s")).routes[0].analysis?.minClients == 20)
        #expect(try ConfigLoader.parse(withAnalysis("minClients: 3")).routes[0].analysis?.minClients == 3)
        #expect(problems(withAnalysis("minClients: 0")) == ["routes[0].analysis.minClients: 0 must be at least 1 (line 11)"])
    }
}
