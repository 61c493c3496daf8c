// The admin page's login cookie: a role and an expiry bound to that role's token by an HMAC under a per-process key.
import Config
import TLS

/// Who a request speaks for. An operator may also read.
enum AdminRole: String, Equatable, Comparable {
    case reader, `operator`

    static func < (a: AdminRole, b: AdminRole) -> Bool { a == .reader && b == .operator }
}

/// What a valid login cookie proves: a role, until `expires` (unix seconds).
struct AdminSession: Equatable {
    var role: AdminRole
    var expires: Int
}

/// `canarygate_session=ROLE.EXPIRY.MAC`, MAC = HMAC-SHA-256(key, "canarygate-session-v1 ROLE EXPIRY TOKEN").
/// The token never leaves the server: a stolen cookie is not the token, and it dies with its expiry, with a
/// change of that role's token file (reload) and with the process (the key is random and never written down).
/// Logging out clears the browser's copy; to cut off a copy taken elsewhere, rotate the token file and reload.
struct AdminSessionKey: Sendable {
    static let cookieName = "canarygate_session"
    /// A working day: a page left open longer asks for the token again.
    static let lifetimeSeconds = 12 * 3600

    let key: [UInt8]

    /// 32 bytes from the system's generator (getrandom on Linux).
    static func random() -> AdminSessionKey {
        var generator = SystemRandomNumberGenerator()
        return AdminSessionKey(key: (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    /// The cookie's value for `role`, signed with its `token`, valid until `expires` (unix seconds).
    func value(role: AdminRole, token: AdminToken, expires: Int) -> String {
        "\(role.rawValue).\(expires).\(hex(mac(role: role, expires: expires, token: token)))"
    }

    /// The role `value` proves under the tokens of `admin` at `now` and until when, or nil (malformed, expired,
    /// forged, or signed with a token the config no longer has).
    func session(of value: Substring, admin: AdminConfig, now: Int) -> AdminSession? {
        let parts = value.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let role = AdminRole(rawValue: String(parts[0])), let expires = Int(parts[1]), expires > now,
            let presented = bytes(fromHex: parts[2])
        else { return nil }
        guard let token = role == .operator ? admin.operatorToken : admin.readerToken else { return nil }
        return AdminToken.constantTimeEqual(presented[...], mac(role: role, expires: expires, token: token)[...])
            ? AdminSession(role: role, expires: expires) : nil
    }

    /// The value of our cookie in a `Cookie` field ("a=1; canarygate_session=…"), if any.
    static func cookieValue(in field: String?) -> Substring? {
        guard let field else { return nil }
        for pair in field.split(separator: ";") {
            let trimmed = pair.drop { $0 == " " }
            if trimmed.hasPrefix(cookieName + "=") { return trimmed.dropFirst(cookieName.count + 1) }
        }
        return nil
    }

    /// `Set-Cookie` for a login: HttpOnly (no script reads it), SameSite=Strict (no other site's page or link
    /// makes the browser send it), Path=/ (the whole API). Not `Secure`: the admin listener speaks plain HTTP.
    static func setCookie(_ value: String) -> String {
        "\(cookieName)=\(value); Max-Age=\(lifetimeSeconds); Path=/; HttpOnly; SameSite=Strict"
    }

    /// `Set-Cookie` that makes the browser forget it.
    static let clearCookie = "\(cookieName)=; Max-Age=0; Path=/; HttpOnly; SameSite=Strict"

    private func mac(role: AdminRole, expires: Int, token: AdminToken) -> [UInt8] {
        MessageAuthentication.sha256(key: key, message: Array("canarygate-session-v1 \(role.rawValue) \(expires) ".utf8) + token.bytes)
    }

    private func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef")
        return String(bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] })
    }

    private func bytes(fromHex text: Substring) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count == 64 else { return nil }
        var out: [UInt8] = []
        for i in stride(from: 0, to: digits.count, by: 2) {
            guard let high = Self.hexDigit(digits[i]), let low = Self.hexDigit(digits[i + 1]) else { return nil }
            out.append(high << 4 | low)
        }
        return out
    }

    /// The value of an ASCII hex digit, either case (the form's `%XX` too), nil for any other byte.
    static func hexDigit(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x41...0x46: c - 0x41 + 10
        case 0x61...0x66: c - 0x61 + 10
        default: nil
        }
    }
}
