// Decodes `canary.match`: cohort entries with headers, cookies, method and pathPrefix conditions.
import Yams

extension CohortEntry {
    private static let conditionKeys = ["headers", "cookies", "method", "pathPrefix"]

    static func decode(_ node: ConfigNode) -> CohortEntry? {
        node.mapping { m in
            var entry = CohortEntry()
            let headers = m.optional("headers", default: []) { NamedCondition.decodeMap($0, kind: .header) }
            let cookies = m.optional("cookies", default: []) { NamedCondition.decodeMap($0, kind: .cookie) }
            entry.method = m.optional("method") { $0.scalar(expected: "a method like GET", parseMethod) }
            entry.pathPrefix = m.optional("pathPrefix") { $0.scalar(expected: "a string", MatchConfig.parsePathPrefix) }
            // An entry without conditions would put every request in the cohort: surely a mistake.
            if !conditionKeys.contains(where: m.isWritten) {
                m.mapping.report("needs at least one condition: headers, cookies, method or pathPrefix")
            }
            guard let headers, let cookies else { return nil }
            entry.headers = headers
            entry.cookies = cookies
            return entry
        }
    }

    /// Methods are case-sensitive, so `get` would never match a GET: refused rather than silently inert.
    private static func parseMethod(_ text: String) throws(InvalidValue) -> String {
        guard !text.isEmpty, text.utf8.allSatisfy(WebhookHeader.isTokenByte) else {
            throw InvalidValue("\(text.debugDescription) is not a method (letters, digits and !#$%&'*+-.^_`|~ only)")
        }
        let standard = ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"]
        if text != text.uppercased() && standard.contains(text.uppercased()) {
            throw InvalidValue("\(text.debugDescription) is not \(text.uppercased()): methods are case-sensitive")
        }
        return text
    }
}

extension NamedCondition {
    enum Kind {
        case header, cookie
    }

    /// Fields a cohort cannot test: routing sees neither Host (the route's `match.host` does) nor
    /// Cookie (use `cookies`), nor the fields of one connection or those the proxy writes itself.
    private static let unseenHeaders: Set<String> = [
        "host", "cookie", "connection", "keep-alive", "te", "transfer-encoding", "upgrade", "trailer", "proxy-connection",
        "expect", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "forwarded",
    ]

    /// `{ NAME: { exact | prefix | regex: … }, … }`: header names stored lower-case, cookie names as written.
    static func decodeMap(_ node: ConfigNode, kind: Kind) -> [NamedCondition]? {
        guard case let .mapping(pairs) = node.node else {
            node.report("expected a mapping")
            return nil
        }
        if pairs.isEmpty { node.report("needs at least one \(kind == .header ? "header" : "cookie")") }
        let problemsBefore = node.log.count
        var conditions: [NamedCondition] = []
        for (key, value) in pairs {
            guard case let .scalar(scalar) = key else {
                node.log.report(path: node.path, line: key.mark?.line, "keys must be strings")
                continue
            }
            let name = scalar.string
            if let problem = problem(withName: name, kind: kind) {
                node.log.report(path: node.childPath(name), line: key.mark?.line, problem)
                continue
            }
            if let condition = ValueCondition.decode(node.child(name, value)) {
                conditions.append(NamedCondition(name: kind == .header ? name.lowercased() : name, value: condition))
            }
        }
        return node.log.count == problemsBefore ? conditions : nil
    }

    private static func problem(withName name: String, kind: Kind) -> String? {
        switch kind {
        case .header:
            guard !name.isEmpty, name.utf8.allSatisfy(WebhookHeader.isTokenByte) else {
                return "is not a valid header name (letters, digits and !#$%&'*+-.^_`|~ only)"
            }
            if unseenHeaders.contains(name.lowercased()) { return "cannot be matched: routing does not see this header" }
        case .cookie:
            // RFC 6265 §4.1.1: a cookie name is a token.
            guard !name.isEmpty, name.utf8.allSatisfy(WebhookHeader.isTokenByte) else {
                return "is not a valid cookie name (letters, digits and !#$%&'*+-.^_`|~ only)"
            }
        }
        return nil
    }
}

extension ValueCondition {
    /// Exactly one of `exact`, `prefix` and `regex`.
    static func decode(_ node: ConfigNode) -> ValueCondition? {
        node.mapping { m in
            let exact = m.optional("exact") { $0.scalar(expected: "a string") { $0 } }
            let prefix = m.optional("prefix") { $0.scalar(expected: "a string") { $0 } }
            let regex = m.optional("regex") { $0.scalar(expected: "a string", ByteRegex.init) }
            let written = ["exact", "prefix", "regex"].filter(m.isWritten)
            if written.isEmpty { m.mapping.report("needs one of exact, prefix or regex") }
            if written.count > 1 { m.report(written[1], "cannot be written with \(written[0]): use one of exact, prefix or regex") }
            if let exact { return .exact(exact) }
            if let prefix { return .prefix(prefix) }
            return regex.map { .regex($0) }
        }
    }
}
