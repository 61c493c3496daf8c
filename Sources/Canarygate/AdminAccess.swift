// Who may use the admin API: the Host and Origin checks against DNS rebinding and cross-site posts, the bearer
// tokens, the admin page's login cookie and the checks that keep another site's page from using that cookie.
import Config

/// `/healthz` is open to all. Reads (`GET`, `HEAD`) need the reader or the operator token when
/// `admin.readerTokenFile` is set; anything else needs the operator token when `admin.operatorTokenFile` is set.
/// A request without a token good enough for it must also name this API in `Host` (and in `Origin`, when
/// sent): a browser lets any page post to loopback and, after DNS rebinding, read from it, but it sends
/// the page's own name in those fields, and it cannot add an `Authorization` header without the token.
///
/// A browser cannot send `Authorization` from a page, so the page logs in (`POST /login` with the token) and
/// gets a session cookie that stands for the token (AdminSessionKey). The browser attaches a cookie by itself,
/// which is what CSRF abuses; so a cookie never waives the Host check, and a change (any method but GET and
/// HEAD) that carries it must also show it comes from this API's own page: a same-origin `Origin` (or, without
/// one, `Referer`) and `X-Canarygate-Request: 1`, which a cross-site form cannot send and a cross-site script
/// cannot add without a CORS preflight this API never approves.
///
/// Reading needs no proof of origin: another site's page cannot read the answer. But the page and the event
/// stream cost something to serve, and a stream can be opened by any tag (`<img src=…/events>` sends no
/// `Origin`), sixteen of them pushing out the operator's own. So GET / and /events refuse what the browser
/// marks `Sec-Fetch-Site: cross-site` or `same-site` (another port or subdomain), and /events wants
/// `Accept: text/event-stream`, which `EventSource` sends and a tag never does.
enum AdminAccess {
    enum Need: Equatable {
        case nothing
        /// The login form and logout: no token (that is what they are for), this API's names only.
        case session
        case readerToken
        case operatorToken
    }

    static let pageHeader = "X-Canarygate-Request"

    static func need(method: String, path: String) -> Need {
        if path == "/healthz" { return .nothing }
        if path == "/login" || path == "/logout" { return .session }
        return method == "GET" || method == "HEAD" ? .readerToken : .operatorToken
    }

    /// Where the connection arrived and what proves a session: what the rules need besides the request.
    struct Context {
        var admin: AdminConfig
        /// Where the connection arrived ("127.0.0.1:9901", "[::1]:9901"): with a wildcard `admin.address`,
        /// the address clients use.
        var localAddress: String
        var localIsLoopback: Bool
        var sessions: AdminSessionKey
        /// Unix seconds, for the cookie's expiry.
        var now: Int
    }

    /// The refusal to send (nil: go on), and the role the request acts with: what the page offers it.
    struct Verdict {
        var refusal: AdminResponse?
        var role: AdminRole
        /// When the login cookie that let the request in expires (nil: no cookie spoke for it): an event stream
        /// ends then.
        var sessionExpires: Int? = nil
    }

    static func verdict(for request: AdminRequest, _ context: Context) -> Verdict {
        let admin = context.admin
        let need = need(method: request.method, path: request.path)
        let presented = bearerToken(request.authorization)
        let bearerRole: AdminRole? = presented.flatMap { token in
            if admin.operatorToken?.matches(token) ?? false { return .operator }
            return admin.readerToken?.matches(token) ?? false ? .reader : nil
        }
        // A bearer token, right or wrong, speaks for the request; the cookie only when there is none.
        let session =
            presented == nil
            ? AdminSessionKey.cookieValue(in: request.cookie).flatMap { context.sessions.session(of: $0, admin: admin, now: context.now) }
            : nil
        let cookieRole = session?.role
        let proven = bearerRole ?? cookieRole
        // Without an operator token, whoever passes the Host check may change things (loopback only: see validate).
        let role: AdminRole = admin.operatorToken == nil || proven == .operator ? .operator : .reader
        let allow = Verdict(refusal: nil, role: role, sessionExpires: session?.expires)
        func refuse(_ response: AdminResponse) -> Verdict { Verdict(refusal: response, role: role) }
        guard need != .nothing else { return allow }

        let names = ownNames(admin: admin, localAddress: context.localAddress, localIsLoopback: context.localIsLoopback)
        let bearerSuffices = need == .readerToken ? bearerRole != nil : bearerRole == .operator
        if !bearerSuffices, let reason = foreignOrigin(request, names: names, admin: admin) {
            return refuse(AdminResponse(status: "403 Forbidden", body: "forbidden: \(reason)\n"))
        }
        let isChange = request.method != "GET" && request.method != "HEAD"
        if !isChange && (request.path == "/" || request.path == "/events"), let site = request.fetchSite?.lowercased(),
            site == "cross-site" || site == "same-site"
        {
            return refuse(forbidden("Sec-Fetch-Site: \(site); the page and its stream are only for this API's own page or a typed address"))
        }
        if need == .session {
            guard !isChange || sameOriginProof(request, names: names) else {
                return refuse(forbidden("a login or logout must come from this API's own page (a same-origin Origin or Referer)"))
            }
            return allow
        }
        let tokenRequired = need == .readerToken ? admin.readerToken != nil : admin.operatorToken != nil
        let credentialed = need == .readerToken ? proven != nil : proven == .operator
        if tokenRequired && !credentialed {
            if need == .operatorToken && proven == .reader {
                return refuse(forbidden("the reader token may only read (GET /, /status, /metrics, /events)"))
            }
            if presented == nil && request.path == "/" {
                return refuse(AdminResponse(status: "303 See Other", body: "log in at /login\n", extraHeaders: [("Location", "/login")]))
            }
            return refuse(unauthorized(presented: presented != nil))
        }
        if isChange && cookieRole != nil {
            guard sameOriginProof(request, names: names) else {
                return refuse(forbidden("a change made with the login cookie needs a same-origin Origin or Referer (CSRF)"))
            }
            guard request.pageHeader == "1" else {
                return refuse(forbidden("a change made with the login cookie needs the header \(pageHeader): 1 (CSRF)"))
            }
        }
        if request.method == "GET" && request.path == "/events" && !acceptsEventStream(request.accept) {
            return refuse(
                AdminResponse(status: "406 Not Acceptable", body: "GET /events sends text/event-stream; send Accept: text/event-stream\n"))
        }
        return allow
    }

    private static func forbidden(_ reason: String) -> AdminResponse {
        AdminResponse(status: "403 Forbidden", body: "forbidden: \(reason)\n")
    }

    /// `Accept` names `text/event-stream` itself: `*/*`, which every tag sends, does not count.
    private static func acceptsEventStream(_ field: String?) -> Bool {
        guard let field else { return false }
        return field.split(separator: ",").contains { mediaRange in
            mediaRange.prefix { $0 != ";" }.filter { $0 != " " && $0 != "\t" }.lowercased() == "text/event-stream"
        }
    }

    /// The token of `Authorization: Bearer TOKEN` (the scheme in any case), nil for anything else.
    private static func bearerToken(_ field: String?) -> ArraySlice<UInt8>? {
        guard let field else { return nil }
        let bytes = Array(field.utf8)
        guard bytes.count > 7, String(decoding: bytes[0..<7], as: UTF8.self).lowercased() == "bearer " else { return nil }
        return bytes[7...].drop { $0 == 0x20 }
    }

    private static func unauthorized(presented: Bool) -> AdminResponse {
        let challenge = presented ? #"Bearer realm="canarygate-admin", error="invalid_token""# : #"Bearer realm="canarygate-admin""#
        return AdminResponse(
            status: "401 Unauthorized",
            body: presented
                ? "unauthorized: the token is not valid here\n" : "unauthorized: send Authorization: Bearer TOKEN, or log in at /login\n",
            extraHeaders: [("WWW-Authenticate", challenge)])
    }

    /// The `host:port` names of this API, lower-case.
    private static func ownNames(admin: AdminConfig, localAddress: String, localIsLoopback: Bool) -> Set<String> {
        let port = admin.address.port
        var names: Set<String> = [admin.address.description.lowercased(), localAddress.lowercased()]
        if localIsLoopback || admin.address.isLoopback {
            names.formUnion(["localhost:\(port)", "127.0.0.1:\(port)", "[::1]:\(port)"])
        }
        return names
    }

    /// Why `Host` or `Origin` names someone else, or nil when both name this API.
    private static func foreignOrigin(_ request: AdminRequest, names: Set<String>, admin: AdminConfig) -> String? {
        guard let host = request.host?.lowercased() else { return "a Host field is required" }
        guard names.contains(host) else {
            return "Host \(host) is not this admin API (\(admin.address)); requests for other names are refused (DNS rebinding)"
        }
        if let origin = request.origin?.lowercased(), !isOwn(origin: origin, names: names) {
            return "Origin \(origin) is not this admin API; cross-site requests are refused"
        }
        return nil
    }

    /// A lower-case `Origin` naming this API (`http://` only: the listener speaks plain HTTP; `null` is no one).
    private static func isOwn(origin: String, names: Set<String>) -> Bool {
        origin.hasPrefix("http://") && names.contains(String(origin.dropFirst("http://".count)))
    }

    /// The request says it comes from a page of this API: `Origin` naming it, or (a browser that sends no
    /// `Origin`) a `Referer` on it. Neither, or `Origin: null`, proves nothing.
    private static func sameOriginProof(_ request: AdminRequest, names: Set<String>) -> Bool {
        if let origin = request.origin?.lowercased() { return isOwn(origin: origin, names: names) }
        guard let referer = request.referer?.lowercased(), referer.hasPrefix("http://") else { return false }
        let rest = referer.dropFirst("http://".count)
        return names.contains(String(rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }))
    }
}
