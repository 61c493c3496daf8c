// Who may use the admin API: the Host and Origin checks against DNS rebinding and cross-site posts, and the bearer tokens.
import Config

/// `/healthz` is open to all. Reads (`GET`, `HEAD`) need the reader or the operator token when
/// `admin.readerTokenFile` is set; anything else needs the operator token when `admin.operatorTokenFile` is set.
/// A request without a token good enough for it must also name this API in `Host` (and in `Origin`, when
/// sent): a browser lets any page post to loopback and, after DNS rebinding, read from it, but it sends
/// the page's own name in those fields, and it cannot add an `Authorization` header without the token.
enum AdminAccess {
    enum Need: Equatable { case nothing, readerToken, operatorToken }

    static func need(method: String, path: String) -> Need {
        if path == "/healthz" { return .nothing }
        return method == "GET" || method == "HEAD" ? .readerToken : .operatorToken
    }

    /// nil when `request` may proceed, else the refusal to send. `localAddress` is where the connection
    /// arrived ("127.0.0.1:9901", "[::1]:9901"): with a wildcard `admin.address`, the address clients use.
    static func refusal(for request: AdminRequest, admin: AdminConfig, localAddress: String, localIsLoopback: Bool) -> AdminResponse? {
        let need = need(method: request.method, path: request.path)
        guard need != .nothing else { return nil }
        let presented = bearerToken(request.authorization)
        let isOperator = presented.map { admin.operatorToken?.matches($0) ?? false } ?? false
        let isReader = presented.map { admin.readerToken?.matches($0) ?? false } ?? false
        let credentialed = need == .readerToken ? isOperator || isReader : isOperator
        if !credentialed, let reason = foreignOrigin(request, admin: admin, localAddress: localAddress, localIsLoopback: localIsLoopback) {
            return AdminResponse(status: "403 Forbidden", body: "forbidden: \(reason)\n")
        }
        let tokenRequired = need == .readerToken ? admin.readerToken != nil : admin.operatorToken != nil
        guard tokenRequired && !credentialed else { return nil }
        if need == .operatorToken && isReader {
            return AdminResponse(status: "403 Forbidden", body: "forbidden: the reader token may only read (GET /status, /metrics)\n")
        }
        return unauthorized(presented: presented != nil)
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
            body: presented ? "unauthorized: the token is not valid here\n" : "unauthorized: send Authorization: Bearer TOKEN\n",
            extraHeaders: [("WWW-Authenticate", challenge)])
    }

    /// Why `Host` or `Origin` names someone else, or nil when both name this API.
    private static func foreignOrigin(_ request: AdminRequest, admin: AdminConfig, localAddress: String, localIsLoopback: Bool) -> String? {
        let port = admin.address.port
        var ownNames: Set<String> = [admin.address.description.lowercased(), localAddress.lowercased()]
        if localIsLoopback || admin.address.isLoopback {
            ownNames.formUnion(["localhost:\(port)", "127.0.0.1:\(port)", "[::1]:\(port)"])
        }
        guard let host = request.host?.lowercased() else { return "a Host field is required" }
        guard ownNames.contains(host) else {
            return "Host \(host) is not this admin API (\(admin.address)); requests for other names are refused (DNS rebinding)"
        }
        if let origin = request.origin?.lowercased() {
            guard origin.hasPrefix("http://"), ownNames.contains(String(origin.dropFirst("http://".count))) else {
                return "Origin \(origin) is not this admin API; cross-site requests are refused"
            }
        }
        return nil
    }
}
