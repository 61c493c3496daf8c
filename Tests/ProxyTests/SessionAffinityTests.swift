// Session affinity's assignment rule, without sockets: positions, a step up and down, a rollback, foreign cookies, the cookies owed.
import Config
@testable import Proxy
import Testing

/// A browser's cookie jar for one client, as far as affinity needs: names to values, Max-Age=0 removes.
private struct Jar {
    var cookies: [String: [UInt8]] = [:]

    /// Applies the Set-Cookie values `due` owes, read back from the bytes written for HTTP/2.
    mutating func apply(_ due: CookieDue?) {
        guard let due else { return }
        var out = [UInt8](repeating: 0, count: 1024)
        let written = out.withUnsafeMutableBytes { due.write(line: false, into: $0) }
        guard let (assignment, removal) = written else { Issue.record("cookies did not fit"); return }
        for value in [out[..<assignment], out[assignment..<(assignment + removal)]] where !value.isEmpty {
            let text = String(decoding: value, as: UTF8.self)
            let pair = text.split(separator: ";")[0]
            let name = String(pair.split(separator: "=", maxSplits: 1)[0])
            if text.contains("; Max-Age=0;") { cookies[name] = nil } else { cookies[name] = Array(pair.utf8.dropFirst(name.count + 1)) }
        }
    }
}

@Suite struct SessionAffinityTests {
    private let rules = SessionAffinityRules(SessionAffinityConfig(cookieName: "cg"), canaryRevision: "v2")

    /// One request of the client holding `jar`, which then stores what the response set.
    private func visit(_ jar: inout Jar, weight: Int, draws: inout [UInt32]) -> StickyChoice {
        let choice = withCookie(jar.cookies["cg"]) { canary in
            withCookie(jar.cookies["cg-primary"]) { primary in
                rules.choose(canaryCookie: canary, primaryCookie: primary, weight: weight) { draws.removeFirst() }
            }
        }
        jar.apply(choice.cookie)
        return choice
    }

    private func withCookie<R>(_ value: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
        guard let value else { return body(nil) }
        return value.withUnsafeBytes { body($0) }
    }

    /// `count` positions from a fixed seed, as a loop's generator would give them.
    private func positions(_ count: Int, seed: UInt64 = 15) -> [UInt32] {
        var split = WeightedSplit(seed: seed)
        return (0..<count).map { _ in split.drawPosition() }
    }

    @Test func aClientIsOnTheCanaryExactlyWhileItsPositionIsBelowTheWeight() {
        // u/2^32 < w/100: the first position off the canary at 10% is ceil(2^32/10).
        let threshold = UInt32((UInt64(1) << 32 + 9) / 10)
        #expect(SessionAffinityRules.onCanary(position: threshold - 1, weight: 10))
        #expect(!SessionAffinityRules.onCanary(position: threshold, weight: 10))
        #expect(!SessionAffinityRules.onCanary(position: 0, weight: 0))
        #expect(SessionAffinityRules.onCanary(position: .max, weight: 100))
    }

    @Test func aStepUpMovesExactlyTheClientsBetweenTheWeightsAndNoneBack() {
        var draws = positions(2000)
        let all = draws
        var jars = [Jar](repeating: Jar(), count: 2000)
        let at10 = jars.indices.map { visit(&jars[$0], weight: 10, draws: &draws).arm }
        // Every client got its cookie with its first response; at the same weight nothing more is said.
        for i in jars.indices { #expect(visit(&jars[i], weight: 10, draws: &draws).cookie == nil) }
        let at30 = jars.indices.map { visit(&jars[$0], weight: 30, draws: &draws) }
        #expect(draws.isEmpty)  // nobody was drawn again
        for i in jars.indices {
            let moves =
                SessionAffinityRules.onCanary(position: all[i], weight: 30) && !SessionAffinityRules.onCanary(position: all[i], weight: 10)
            #expect(at30[i].position == all[i])
            #expect((at10[i] == .primary && at30[i].arm == .canary) == moves)
            #expect(!(at10[i] == .canary && at30[i].arm == .primary))
            // A mover's primary cookie is replaced by the canary's; the others hear nothing.
            #expect((at30[i].cookie != nil) == moves)
            if moves { #expect(jars[i].cookies["cg"] != nil && jars[i].cookies["cg-primary"] == nil) }
        }
        let moved = at30.indices.filter { at10[$0] == .primary && at30[$0].arm == .canary }.count
        // 20% of 2000 within about four standard deviations (sd ≈ 17.9).
        #expect(abs(moved - 400) < 72)
    }

    @Test func aStepDownMovesExactlyTheClientsAboveTheNewWeightBack() {
        var draws = positions(500)
        let all = draws
        var jars = [Jar](repeating: Jar(), count: 500)
        for i in jars.indices { _ = visit(&jars[i], weight: 50, draws: &draws) }
        for i in jars.indices {
            let choice = visit(&jars[i], weight: 20, draws: &draws)
            #expect(choice.arm == (SessionAffinityRules.onCanary(position: all[i], weight: 20) ? .canary : .primary))
        }
    }

    @Test func aRollbackPutsEveryClientOnThePrimaryAndReplacesTheCanaryCookie() {
        var draws = positions(300)
        var jars = [Jar](repeating: Jar(), count: 300)
        let before = jars.indices.map { visit(&jars[$0], weight: 50, draws: &draws).arm }
        #expect(before.contains(.canary) && before.contains(.primary))
        for i in jars.indices {
            let choice = visit(&jars[i], weight: 0, draws: &draws)
            #expect(choice.arm == .primary)
            #expect((choice.cookie != nil) == (before[i] == .canary))
            #expect(jars[i].cookies["cg"] == nil && jars[i].cookies["cg-primary"] != nil)
        }
    }

    @Test func aCookieOfAnotherRolloutIsIgnoredAndReplaced() {
        let other = SessionAffinityRules(SessionAffinityConfig(cookieName: "cg"), canaryRevision: "v3")
        #expect(other.tag != rules.tag)
        var jar = Jar()
        jar.cookies["cg"] = Array("v1.5.\(String(decoding: other.tag, as: UTF8.self))".utf8)
        var draws: [UInt32] = [.max]
        let choice = visit(&jar, weight: 50, draws: &draws)
        #expect(draws.isEmpty && choice.position == .max && choice.arm == .primary)
        #expect(jar.cookies["cg"] == nil)
        #expect(jar.cookies["cg-primary"] == Array("v1.4294967295.\(String(decoding: rules.tag, as: UTF8.self))".utf8))
    }

    @Test func freshClientsShareTheCanaryAsTheWeightSays() {
        var draws = positions(10000, seed: 7)
        var jars = [Jar](repeating: Jar(), count: 10000)
        let canary = jars.indices.filter { visit(&jars[$0], weight: 5, draws: &draws).arm == .canary }.count
        // Binomial(10000, 0.05): sd ≈ 21.8; four of them.
        #expect(abs(canary - 500) < 88)
    }

    @Test func theCookiesOwedAreWrittenWithTheirAttributes() {
        var config = SessionAffinityConfig(cookieName: "cg", primaryCookieName: "cg-p")
        config.maxAge = 600
        config.domain = "shop.example"
        config.path = "/app"
        config.sameSite = .lax
        config.secure = true
        config.httpOnly = true
        let rules = SessionAffinityRules(config, canaryRevision: "v2")
        let tag = String(decoding: rules.tag, as: UTF8.self)
        let due = CookieDue(rules: rules, position: 42, arm: .canary, removeOther: true)
        var out = [UInt8](repeating: 0, count: 512)
        let n = out.withUnsafeMutableBytes { due.write(line: true, into: $0) }
        #expect(
            String(decoding: out[..<((n?.assignment ?? 0) + (n?.removal ?? 0))], as: UTF8.self)
                == "Set-Cookie: cg=v1.42.\(tag); Max-Age=600; Domain=shop.example; Path=/app; SameSite=Lax; Secure; HttpOnly\r\n"
                + "Set-Cookie: cg-p=; Max-Age=0; Domain=shop.example; Path=/app; SameSite=Lax; Secure; HttpOnly\r\n")
        var tiny = [UInt8](repeating: 0, count: 40)
        #expect(tiny.withUnsafeMutableBytes { due.write(line: true, into: $0) } == nil)
    }

    @Test func theTagIsTheRevisionsHash() {
        // FNV-1a (32 bits) of "v2", computed apart: the same in every process.
        #expect(String(decoding: SessionAffinityRules.tag(revision: "v2"), as: UTF8.self) == "974a4b21")
        #expect(SessionAffinityRules.tag(revision: "v2").count == 8)
        // FNV-1a of the empty string is its offset basis.
        #expect(String(decoding: SessionAffinityRules.tag(revision: ""), as: UTF8.self) == "811c9dc5")
    }
}
