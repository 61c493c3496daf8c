// Session affinity compiled for a route: which arm a client's cookie pins it to, and what cookie its response owes.
import Config
import HTTP

/// Built once per config for a route with `sessionAffinity` and a canary; read by every loop.
///
/// The rule: every client holds a uniform random position u in 0..<2^32, and is on the canary iff
/// u/2^32 < weight/100. So the share of clients on the canary is the weight by construction; a client
/// keeps its arm while the weight holds; a step from w1 up to w2 moves exactly the clients with u/2^32 in
/// [w1, w2) to the canary (a fair share of everyone, never a canary client back), a step down moves
/// exactly those back; weight 0 (a rollback, a hold, a promotion done) puts every client on the primary
/// on its next request. The position travels in `cookieName` while the client is on the canary and in
/// `primaryCookieName` while it is on the primary: a client on the primary is pinned as firmly, which is
/// what keeps it from drifting (being re-drawn until it lands on the canary). A cookie is valid only
/// with this rollout's tag (a hash of the canary's revision): another revision's cookie is ignored and
/// replaced by a fresh position, so after a promotion or for a new rollout old cookies are harmless.
public final class SessionAffinityRules: Sendable {
    let canaryName: [UInt8]
    let primaryName: [UInt8]
    /// Eight lower-case hex digits: FNV-1a (32 bits) of the canary's revision.
    let tag: [UInt8]
    let attributes: [UInt8]
    let removal: [UInt8]

    init(_ config: SessionAffinityConfig, canaryRevision: String) {
        canaryName = Array(config.cookieName.utf8)
        primaryName = Array(config.primaryCookieName.utf8)
        tag = Self.tag(revision: canaryRevision)
        func rendered(removal: Bool) -> [UInt8] {
            SetCookieWriter.attributes(
                maxAge: config.maxAge, domain: config.domain, path: config.path, sameSite: config.sameSite?.rawValue,
                secure: config.secure, httpOnly: config.httpOnly, removal: removal)
        }
        attributes = rendered(removal: false)
        removal = rendered(removal: true)
    }

    static func tag(revision: String) -> [UInt8] {
        var hash: UInt32 = 0x811c_9dc5
        for byte in revision.utf8 { hash = (hash ^ UInt32(byte)) &* 0x0100_0193 }
        let hex = Array("0123456789abcdef".utf8)
        return (0..<8).map { hex[Int(hash >> UInt32(28 - 4 * $0) & 0xF)] }
    }

    /// Whether a client at `position` is on the canary at `weight` percent: u/2^32 < weight/100, exactly.
    @inline(__always)
    static func onCanary(position: UInt32, weight: Int) -> Bool {
        UInt64(position) &* 100 < UInt64(weight) << 32
    }

    /// The arm of a request whose cookies are `canaryCookie` and `primaryCookie` (values, nil: absent) at
    /// `weight`, and the cookie its response owes; `draw` gives a fresh position for a client without a
    /// valid cookie.
    func choose(
        canaryCookie: UnsafeRawBufferPointer?, primaryCookie: UnsafeRawBufferPointer?, weight: Int, draw: () -> UInt32
    ) -> StickyChoice {
        let canaryHeld = tag.withUnsafeBytes { tag in canaryCookie.flatMap { SetCookieWriter.position(in: $0, tag: tag) } }
        let primaryHeld = tag.withUnsafeBytes { tag in primaryCookie.flatMap { SetCookieWriter.position(in: $0, tag: tag) } }
        let position = canaryHeld ?? primaryHeld ?? draw()
        let canary = Self.onCanary(position: position, weight: weight)
        // The client already holds exactly the cookie it should, and not the other arm's: nothing to say.
        let holdsOwn = (canary ? canaryHeld : primaryHeld) == position
        let holdsOther = (canary ? primaryCookie : canaryCookie) != nil
        let due =
            holdsOwn && !holdsOther
            ? nil : CookieDue(rules: self, position: position, arm: canary ? .canary : .primary, removeOther: holdsOther)
        return StickyChoice(arm: canary ? .canary : .primary, position: position, cookie: due)
    }

    /// `choose` for `request`, reading its two cookies in place.
    @inline(__always)
    func choose(_ request: RequestView, weight: Int, draw: () -> UInt32) -> StickyChoice {
        let (canaryCookie, primaryCookie) = canaryName.withUnsafeBytes { canary in
            primaryName.withUnsafeBytes { primary in request.cookies(canary, primary) }
        }
        return choose(canaryCookie: canaryCookie, primaryCookie: primaryCookie, weight: weight, draw: draw)
    }
}

/// What session affinity decided for one request.
struct StickyChoice {
    let arm: ArmRole
    let position: UInt32
    /// nil: the client holds the right cookie already.
    let cookie: CookieDue?
}

/// The Set-Cookie a response owes its client: its position under the name of `arm`, and the removal of
/// the other arm's cookie when the client sent one. Kept by the exchange until the head.
struct CookieDue {
    /// Not retained (a retain and a release per copy of a decision, on every request of every route):
    /// the snapshot the exchange holds keeps its routes, and their rules, alive — an HTTP/1.1 exchange
    /// routed after buffering its body takes the snapshot it was routed under (`H1Exchange.route(under:)`).
    unowned(unsafe) let rules: SessionAffinityRules
    let position: UInt32
    let arm: ArmRole
    let removeOther: Bool

    /// Writes the field lines (HTTP/1.1, `line`) or the values one after the other (HTTP/2) into `out`;
    /// the lengths of the assignment and of the removal (0 without one), or nil when they did not fit.
    func write(line: Bool, into out: UnsafeMutableRawBufferPointer) -> (assignment: Int, removal: Int)? {
        let (own, other) = arm == .canary ? (rules.canaryName, rules.primaryName) : (rules.primaryName, rules.canaryName)
        let assigned = own.withUnsafeBytes { name in
            rules.tag.withUnsafeBytes { tag in
                rules.attributes.withUnsafeBytes { attributes in
                    SetCookieWriter.writeAssignment(
                        name: name, position: position, tag: tag, attributes: attributes, line: line, into: out)
                }
            }
        }
        guard let assigned else { return nil }
        guard removeOther else { return (assigned, 0) }
        let removed = other.withUnsafeBytes { name in
            rules.removal.withUnsafeBytes { attributes in
                SetCookieWriter.writeRemoval(
                    name: name, attributes: attributes, line: line, into: UnsafeMutableRawBufferPointer(rebasing: out[assigned...]))
            }
        }
        return removed.map { (assigned, $0) }
    }
}
