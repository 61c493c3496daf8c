// A route's `sessionAffinity` as plain values: Flagger's cookie fields for keeping each client on one arm.

/// Clients of the route stay on the arm they were given: each is assigned a uniform random position
/// the first time, carried in a cookie, and is on the canary while its position is below the weight.
/// The cookie is `cookieName` while the client is on the canary and `primaryCookieName` while it is on
/// the primary, so a client on the primary is pinned too (and cannot drift to the canary).
public struct SessionAffinityConfig: Sendable, Equatable {
    /// Flagger's default `maxAge`: a day.
    public static let defaultMaxAge = 86400

    public enum SameSite: String, Sendable, Equatable, CaseIterable {
        case strict = "Strict", lax = "Lax", none = "None"
    }

    /// A token (RFC 6265 §4.1.1).
    public var cookieName: String
    /// A token other than `cookieName`; `<cookieName>-primary` when not written.
    public var primaryCookieName: String
    /// Seconds, at least 1.
    public var maxAge = defaultMaxAge
    public var domain: String?
    /// Starts with "/".
    public var path = "/"
    /// nil: no SameSite attribute (browsers then treat the cookie as Lax).
    public var sameSite: SameSite?
    public var secure = false
    public var httpOnly = false

    public init(cookieName: String, primaryCookieName: String? = nil) {
        self.cookieName = cookieName
        self.primaryCookieName = primaryCookieName ?? "\(cookieName)-primary"
    }
}
