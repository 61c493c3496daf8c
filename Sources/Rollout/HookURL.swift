// The parts of a webhook's `http://host[:port][/path]` URL that the blocking client needs.

struct HookURL: Equatable {
    /// Without brackets for IPv6 (`::1`), as getaddrinfo wants it.
    var host: String
    var port: UInt16
    /// The request target: path and query, `/` when the URL has none.
    var target: String
    /// The Host header's value: the authority as written, minus any userinfo.
    var authority: String

    /// Parses `url`; nil with the reason when it is not a plain http:// URL (https needs TLS, which this
    /// client does not speak: put a local relay in front, or use an exec hook with curl).
    static func parse(_ url: String) -> Result<HookURL, HookURLError> {
        let prefix = "http://"
        guard url.count > prefix.count, url.lowercased().hasPrefix(prefix) else {
            return .failure(HookURLError("unsupported URL \(url): only http:// webhooks are supported"))
        }
        let rest = url.dropFirst(prefix.count)
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        var target = String(rest[authorityEnd...])
        if let hash = target.firstIndex(of: "#") { target = String(target[..<hash]) }
        if target.isEmpty { target = "/" } else if target.hasPrefix("?") { target = "/" + target }

        var host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return .failure(HookURLError("invalid host in URL \(url)")) }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") { portText = after.dropFirst() } else if !after.isEmpty {
                return .failure(HookURLError("invalid host in URL \(url)"))
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        guard !host.isEmpty else { return .failure(HookURLError("no host in URL \(url)")) }
        var port: UInt16 = 80
        if let portText {
            guard let parsed = UInt16(portText), parsed > 0 else { return .failure(HookURLError("invalid port in URL \(url)")) }
            port = parsed
        }
        return .success(HookURL(host: String(host), port: port, target: target, authority: String(authority)))
    }
}

struct HookURLError: Error, Equatable {
    var message: String
    init(_ message: String) { self.message = message }
}
