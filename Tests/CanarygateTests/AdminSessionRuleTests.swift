// The admin page's login without sockets: the session cookie, the form, and the access rules for cookie-bearing requests.
@testable import Canarygate
import Config
import TLS
import Testing

@Suite struct AdminSessionRuleTests {
    private let operatorToken = AdminToken(file: "operator", bytes: Array("operator-0123456789".utf8))
    private let readerToken = AdminToken(file: "reader", bytes: Array("reader-0123456789".utf8))
    private let sessions = AdminSessionKey(key: Array(repeating: 7, count: 32))
    private let now = 1_765_000_000
    private var both: AdminConfig { AdminConfig(operatorToken: operatorToken, readerToken: readerToken) }

    private func cookie(_ role: AdminRole, expires: Int? = nil, key: AdminSessionKey? = nil) -> String {
        let token = role == .operator ? operatorToken : readerToken
        return "canarygate_session=" + (key ?? sessions).value(role: role, token: token, expires: expires ?? now + 60)
    }

    private func verdict(
        _ method: String, _ path: String, cookie: String?, origin: String? = nil, referer: String? = nil, page: String? = nil,
        host: String = "127.0.0.1:9901", bearer: String? = nil, admin: AdminConfig? = nil, accept: String? = nil
    ) -> AdminAccess.Verdict {
        var request = AdminRequest(
            method: method, path: path, query: "", host: host, origin: origin, authorization: bearer.map { "Bearer \($0)" })
        request.cookie = cookie
        request.referer = referer
        request.pageHeader = page
        request.accept = accept
        let context = AdminAccess.Context(
            admin: admin ?? both, localAddress: "127.0.0.1:9901", localIsLoopback: true, sessions: sessions, now: now)
        return AdminAccess.verdict(for: request, context)
    }

    private func status(_ v: AdminAccess.Verdict) -> Int { v.refusal.map { Int($0.status.prefix(3)) ?? -1 } ?? 0 }

    /// RFC 4231, test case 2: the MAC is libcrypto's HMAC-SHA-256, not something else of the same length.
    @Test func theMacIsHMACSHA256() {
        let mac = MessageAuthentication.sha256(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8))
        let hex = mac.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
        #expect(hex == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test func aCookieProvesItsRoleUntilItExpires() {
        for role in [AdminRole.operator, .reader] {
            let token = role == .operator ? operatorToken : readerToken
            let value = sessions.value(role: role, token: token, expires: now + 10)
            #expect(sessions.session(of: value[...], admin: both, now: now)?.role == role)
            #expect(sessions.session(of: value[...], admin: both, now: now + 10)?.role == nil, "expired")
            #expect(!value.contains(String(decoding: token.bytes, as: UTF8.self)), "the token itself is never in the cookie")
        }
    }

    @Test func forgedOrStaleCookiesProveNothing() {
        let value = sessions.value(role: .reader, token: readerToken, expires: now + 60)
        // The role or the expiry changed by the holder: the MAC no longer matches.
        #expect(sessions.session(of: ("operator" + value.dropFirst("reader".count))[...], admin: both, now: now)?.role == nil)
        #expect(
            sessions.session(of: value.replacingOccurrences(of: "\(now + 60)", with: "\(now + 9999)")[...], admin: both, now: now)?.role
                == nil)
        // One hex digit of the MAC flipped.
        let flipped = String(value.dropLast()) + (value.last == "0" ? "1" : "0")
        #expect(sessions.session(of: flipped[...], admin: both, now: now)?.role == nil)
        // Another process's key, a rotated token, a role whose token is gone.
        #expect(AdminSessionKey(key: Array(repeating: 8, count: 32)).session(of: value[...], admin: both, now: now)?.role == nil)
        let rotated = AdminConfig(
            operatorToken: operatorToken, readerToken: AdminToken(file: "reader", bytes: Array("reader-rotated-0123".utf8)))
        #expect(sessions.session(of: value[...], admin: rotated, now: now)?.role == nil)
        #expect(sessions.session(of: value[...], admin: AdminConfig(operatorToken: operatorToken), now: now)?.role == nil)
        for malformed in [
            "", "reader", "reader.1.2.3", "admin.\(now + 60).00", "reader.x.\(String(repeating: "0", count: 64))",
            "reader.\(now + 60).\(String(repeating: "g", count: 64))", "reader.\(now + 60).\(String(repeating: "0", count: 62))",
        ] {
            #expect(sessions.session(of: malformed[...], admin: both, now: now)?.role == nil, "\(malformed)")
        }
    }

    @Test func theCookieIsFoundAmongOthersAndSetStrictly() {
        #expect(AdminSessionKey.cookieValue(in: "a=1; canarygate_session=v.1.2; b=2") == "v.1.2")
        #expect(AdminSessionKey.cookieValue(in: "xcanarygate_session=v") == nil)
        #expect(AdminSessionKey.cookieValue(in: nil) == nil)
        let set = AdminSessionKey.setCookie("v")
        for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] { #expect(set.contains(attribute), "\(set)") }
        #expect(AdminSessionKey.clearCookie.contains("Max-Age=0"))
    }

    @Test func aCookieStandsForItsTokenForReads() {
        #expect(status(verdict("GET", "/status", cookie: cookie(.reader))) == 0)
        #expect(status(verdict("GET", "/events", cookie: cookie(.operator), accept: "text/event-stream")) == 0)
        #expect(status(verdict("GET", "/status", cookie: nil)) == 401)
        #expect(status(verdict("GET", "/status", cookie: cookie(.reader, expires: now - 1))) == 401)
        #expect(status(verdict("GET", "/status", cookie: cookie(.reader, key: AdminSessionKey(key: [1, 2, 3])))) == 401)
        // The page sends a browser without a session to the login form.
        let page = verdict("GET", "/", cookie: nil)
        #expect(status(page) == 303 && page.refusal?.extraHeaders.contains { $0 == ("Location", "/login") } == true)
        // Unlike a bearer token, a cookie never waives the Host check (the browser attaches it by itself).
        #expect(status(verdict("GET", "/status", cookie: cookie(.operator), host: "rebind.example:9901")) == 403)
        // A bearer token, even a wrong one, speaks for the request: the cookie is not consulted.
        #expect(status(verdict("GET", "/status", cookie: cookie(.reader), bearer: "wrong-token-0123456789")) == 401)
    }

    /// An event stream keeps the session's end: the verdict says when it is, only when the cookie spoke.
    @Test func theVerdictCarriesTheSessionsExpiry() {
        let withCookie = verdict("GET", "/events", cookie: cookie(.reader, expires: now + 60), accept: "text/event-stream")
        #expect(status(withCookie) == 0 && withCookie.sessionExpires == now + 60)
        let withBearer = verdict(
            "GET", "/events", cookie: cookie(.reader), bearer: "reader-0123456789", accept: "text/event-stream")
        #expect(status(withBearer) == 0 && withBearer.sessionExpires == nil, "a bearer token speaks; the cookie is not consulted")
        #expect(verdict("GET", "/status", cookie: nil, admin: AdminConfig()).sessionExpires == nil)
    }

    @Test func aChangeWithTheCookieMustComeFromThePage() {
        let own = "http://127.0.0.1:9901"
        let op = cookie(.operator)
        #expect(status(verdict("POST", "/routes/web/pause", cookie: op, origin: own, page: "1")) == 0)
        #expect(status(verdict("POST", "/routes/web/pause", cookie: op, referer: own + "/", page: "1")) == 0, "Referer without Origin")
        #expect(status(verdict("POST", "/routes/web/pause", cookie: op, origin: own)) == 403, "no X-Canarygate-Request")
        #expect(status(verdict("POST", "/routes/web/pause", cookie: op, origin: own, page: "0")) == 403)
        #expect(status(verdict("POST", "/routes/web/pause", cookie: op, page: "1")) == 403, "neither Origin nor Referer")
        #expect(status(verdict("POST", "/routes/web/pause", cookie: op, origin: "http://evil.example", page: "1")) == 403)
        #expect(status(verdict("POST", "/routes/web/pause", cookie: op, origin: "null", referer: own + "/", page: "1")) == 403)
        #expect(status(verdict("POST", "/routes/web/pause", cookie: op, referer: "http://evil.example/?u=\(own)", page: "1")) == 403)
        #expect(status(verdict("POST", "/routes/web/pause", cookie: op, referer: "http://127.0.0.1:99011/", page: "1")) == 403)
        // A reader's cookie may not change anything, whatever it carries.
        #expect(status(verdict("POST", "/routes/web/pause", cookie: cookie(.reader), origin: own, page: "1")) == 403)
        #expect(status(verdict("POST", "/reload", cookie: nil, origin: own, page: "1")) == 401)
        // The bearer token keeps working as before, without the page's header.
        #expect(status(verdict("POST", "/reload", cookie: nil, bearer: "operator-0123456789")) == 0)
        // Without an operator token (loopback) the CLI's POST still needs nothing; the page's carries a reader cookie
        // and so shows where it comes from.
        let readerOnly = AdminConfig(readerToken: readerToken)
        #expect(status(verdict("POST", "/reload", cookie: nil, admin: readerOnly)) == 0)
        #expect(status(verdict("POST", "/reload", cookie: cookie(.reader), admin: readerOnly)) == 403)
        #expect(status(verdict("POST", "/reload", cookie: cookie(.reader), origin: own, page: "1", admin: readerOnly)) == 0)
    }

    @Test func theRoleDecidesTheButtons() {
        #expect(verdict("GET", "/", cookie: cookie(.operator)).role == .operator)
        #expect(verdict("GET", "/", cookie: cookie(.reader)).role == .reader)
        #expect(verdict("GET", "/", cookie: nil, bearer: "operator-0123456789").role == .operator)
        // Without an operator token, whoever may read the page may also act.
        #expect(verdict("GET", "/", cookie: cookie(.reader), admin: AdminConfig(readerToken: readerToken)).role == .operator)
        #expect(verdict("GET", "/", cookie: nil, admin: AdminConfig()).role == .operator)
    }

    @Test func loginAndLogoutNeedThisAPIsNamesOnly() {
        #expect(status(verdict("GET", "/login", cookie: nil)) == 0)
        #expect(status(verdict("GET", "/login", cookie: nil, host: "evil.example:9901")) == 403)
        #expect(status(verdict("POST", "/login", cookie: nil, origin: "http://localhost:9901")) == 0)
        #expect(status(verdict("POST", "/login", cookie: nil)) == 403, "a login from no known page")
        #expect(status(verdict("POST", "/login", cookie: nil, origin: "http://evil.example")) == 403)
        #expect(status(verdict("POST", "/logout", cookie: cookie(.reader), referer: "http://127.0.0.1:9901/")) == 0)
    }

    @Test func theLoginFormSetsTheCookieOfTheTokensRole() {
        func login(_ body: String, admin: AdminConfig? = nil) -> AdminResponse {
            var request = AdminRequest(method: "POST", path: "/login", query: "", host: "127.0.0.1:9901", origin: nil, authorization: nil)
            request.body = Array(body.utf8)
            return AdminLogin.respond(request, admin: admin ?? both, sessions: sessions, now: now)
        }
        func role(_ response: AdminResponse) -> AdminRole? {
            guard let set = response.extraHeaders.first(where: { $0.0 == "Set-Cookie" })?.1,
                let value = AdminSessionKey.cookieValue(in: String(set.prefix { $0 != ";" }))
            else { return nil }
            return sessions.session(of: value, admin: both, now: now)?.role
        }
        let asOperator = login("token=operator-0123456789")
        #expect(asOperator.status.hasPrefix("303") && role(asOperator) == .operator)
        #expect(asOperator.extraHeaders.contains { $0 == ("Location", "/") })
        #expect(role(login("x=1&token=reader-0123456789")) == .reader)
        let wrong = login("token=reader-012345678")
        #expect(wrong.status.hasPrefix("401") && role(wrong) == nil && wrong.contentType.hasPrefix("text/html"))
        #expect(login("").status.hasPrefix("400"))
        #expect(AdminLogin.formField("token", in: Array("a=b&token=x%2By+z%zz%4".utf8)) == Array("x+y z%zz%4".utf8))
        #expect(AdminLogin.formField("token", in: Array("tokens=1".utf8)) == nil)
        #expect(AdminLogin.logout().extraHeaders.contains { $0 == ("Set-Cookie", AdminSessionKey.clearCookie) })
    }
}
