// Decodes `routes[].sessionAffinity`: cookie names (tokens), lifetime and the cookie's attributes.

extension SessionAffinityConfig {
    static func decode(_ node: ConfigNode) -> SessionAffinityConfig? {
        node.mapping { m in
            let cookieName = m.required("cookieName") { $0.scalar(expected: "a cookie name", parseCookieName) }
            let primaryCookieName = m.optional("primaryCookieName") { $0.scalar(expected: "a cookie name", parseCookieName) }
            let maxAge = m.optional("maxAge", default: defaultMaxAge) { $0.integer(atLeast: 1) }
            let domain = m.optional("domain") { $0.scalar(expected: "a domain like example.com", parseDomain) }
            let path = m.optional("path", default: "/") { $0.scalar(expected: "a path", parsePath) }
            let sameSite = m.optional("sameSite") { $0.oneOf(SameSite.self, noun: "a SameSite value") }
            let secure = m.optional("secure", default: false) { $0.boolean() }
            let httpOnly = m.optional("httpOnly", default: false) { $0.boolean() }
            if let cookieName, primaryCookieName == cookieName {
                m.report("primaryCookieName", "must differ from cookieName: the cookie's name tells the arms apart")
            }
            // Browsers drop a SameSite=None cookie that is not Secure: every client would be re-drawn on
            // every request, which is the drift affinity exists to prevent.
            if sameSite == SameSite.none && secure == false {
                m.report("sameSite", "None requires secure: true (browsers reject SameSite=None cookies without Secure)")
            }
            guard let cookieName, let maxAge, let path, let secure, let httpOnly,
                primaryCookieName != cookieName, !(sameSite == SameSite.none && !secure)
            else { return nil }
            var config = SessionAffinityConfig(cookieName: cookieName, primaryCookieName: primaryCookieName)
            config.maxAge = maxAge
            config.domain = domain
            config.path = path
            config.sameSite = sameSite
            config.secure = secure
            config.httpOnly = httpOnly
            return config
        }
    }

    /// Browsers drop a cookie whose name and value pass 4096 bytes, and ignore an attribute value longer
    /// than 1024 bytes (a Domain or Path ignored would scope the cookie otherwise): either silently, so every
    /// request of the client would be drawn afresh. The value is at most 22 bytes (`SetCookieWriter`).
    static let maxNameBytes = 4096 - 22
    static let maxAttributeBytes = 1024

    /// RFC 6265 §4.1.1: a cookie name is a token.
    static func parseCookieName(_ text: String) throws(InvalidValue) -> String {
        guard !text.isEmpty, text.utf8.allSatisfy(WebhookHeader.isTokenByte) else {
            throw InvalidValue("\(text.debugDescription) is not a valid cookie name (letters, digits and !#$%&'*+-.^_`|~ only)")
        }
        guard text.utf8.count <= maxNameBytes else {
            throw InvalidValue("is \(text.utf8.count) bytes long, more than \(maxNameBytes) (browsers drop a cookie over 4096 bytes)")
        }
        return text
    }

    private static func checkAttributeLength(_ text: String) throws(InvalidValue) {
        guard text.utf8.count <= maxAttributeBytes else {
            throw InvalidValue(
                "is \(text.utf8.count) bytes long, more than \(maxAttributeBytes) (browsers ignore a longer cookie attribute)")
        }
    }

    /// A host name (letters, digits, "-" and "." between labels); one leading "." is allowed and
    /// means nothing more (RFC 6265 §5.2.3).
    static func parseDomain(_ text: String) throws(InvalidValue) -> String {
        try checkAttributeLength(text)
        let name = text.hasPrefix(".") ? text.dropFirst() : Substring(text)
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.allSatisfy({ !$0.isEmpty && $0.utf8.allSatisfy(isLabelByte) }) else {
            throw InvalidValue("\(text.debugDescription) is not a domain (letters, digits and \"-\" in labels separated by \".\")")
        }
        return text
    }

    private static func isLabelByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "-"):
            true
        default: false
        }
    }

    /// Starts with "/"; no ";" (it would end the attribute), no controls or spaces (RFC 6265 §4.1.1 av-octet).
    static func parsePath(_ text: String) throws(InvalidValue) -> String {
        guard text.hasPrefix("/") else { throw InvalidValue("\(text.debugDescription) must start with \"/\"") }
        try checkAttributeLength(text)
        guard text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ";") }) else {
            throw InvalidValue("\(text.debugDescription) may not hold \";\", spaces, controls or non-ASCII")
        }
        return text
    }
}
