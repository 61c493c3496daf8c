// A webhook's `http[s]://host[:port][/path][?query]` URL, split into what the hook client needs.

/// Parsed when the config is validated (a bad URL refuses the config) and again by the hook client,
/// so both apply the same rules. Errors never repeat the URL: credentials can hide in any part of
/// it (a token in the query, a path like a chat service's `/services/T0/B0/secret`), and these
/// messages reach the log, `/status` and the event log. Field and line locate the URL instead.
public struct WebhookURL: Sendable, Equatable {
    public enum Scheme: String, Sendable {
        case http
        case https

        var defaultPort: UInt16 { self == .http ? 80 : 443 }
    }

    public var scheme: Scheme
    /// Without brackets for IPv6 (`::1`), as getaddrinfo wants it; also the name the server's
    /// certificate must cover for https.
    public var host: String
    public var port: UInt16
    /// The request target: path and query, `/` when the URL has none; the fragment is dropped.
    public var target: String
    /// The Host header's value: the authority as written.
    public var authority: String

    public init(scheme: Scheme, host: String, port: UInt16, target: String, authority: String) {
        self.scheme = scheme
        self.host = host
        self.port = port
        self.target = target
        self.authority = authority
    }

    public static func parse(_ url: String) -> Result<WebhookURL, WebhookURLError> {
        guard url.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
            return .failure(WebhookURLError("may contain only visible ASCII characters, no spaces"))
        }
        guard let separator = url.firstRange(of: "://"), let scheme = Scheme(rawValue: url[..<separator.lowerBound].lowercased()) else {
            return .failure(WebhookURLError("must start with \"http://\" or \"https://\""))
        }
        let rest = url[separator.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        // Refused rather than dropped: the client would not send them, and a URL is shown in places a
        // password must not be. A header whose value is read from a file carries them instead.
        if authority.contains("@") {
            return .failure(
                WebhookURLError(
                    "must not carry credentials (user:password@); "
                        + "send them in a header whose value is read from a file: headers: { Authorization: { file: /path } }"))
        }
        var target = String(rest[authorityEnd...])
        if let hash = target.firstIndex(of: "#") { target = String(target[..<hash]) }
        if target.isEmpty { target = "/" } else if target.hasPrefix("?") { target = "/" + target }

        var host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                return .failure(WebhookURLError("has an invalid host: no \"]\" after an IPv6 address"))
            }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") {
                portText = after.dropFirst()
            } else if !after.isEmpty {
                return .failure(WebhookURLError("has an invalid host: only a port may follow an IPv6 address"))
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        guard !host.isEmpty else { return .failure(WebhookURLError("has no host")) }
        var port = scheme.defaultPort
        if let portText {
            guard let parsed = UInt16(portText), parsed > 0 else {
                return .failure(WebhookURLError("has an invalid port: not in 1...65535"))
            }
            port = parsed
        }
        return .success(WebhookURL(scheme: scheme, host: String(host), port: port, target: target, authority: String(authority)))
    }
}

/// Why a webhook URL was refused, in words that never include the URL.
public struct WebhookURLError: Error, Equatable, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
}
