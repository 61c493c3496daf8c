// Decodes `analysis.readiness`: the health check (HTTP path or TCP connect) and the header naming an endpoint's revision.

extension ReadinessConfig {
    /// `{ http: /healthz }` or `{ tcp: true }`, not both; neither (or no section) means TCP.
    static func decode(_ node: ConfigNode) -> ReadinessConfig? {
        node.mapping { m in
            var readiness = ReadinessConfig()
            let path = m.optional("http") { $0.scalar(expected: "a path like \"/healthz\"", parsePath) }
            // `tcp: true` only says what the default already is; it is read so that it is not unknown.
            _ = m.optional("tcp") { node in
                node.boolean().flatMap { tcp -> Bool? in
                    guard tcp else {
                        node.report("only true is accepted; to check over HTTP write http: and a path instead")
                        return nil
                    }
                    return tcp
                }
            }
            if m.isWritten("http") && m.isWritten("tcp") {
                m.report("tcp", "cannot be combined with http; write one of them")
            }
            if let path { readiness.probe = .http(path: path) }
            readiness.interval = m.optional("interval") { $0.duration() } ?? readiness.interval
            readiness.timeout = m.optional("timeout") { $0.duration() } ?? readiness.timeout
            readiness.revisionHeader = m.optional("revisionHeader") {
                $0.scalar(expected: "a header name like X-Revision", parseHeaderName)
            }
            if m.isWritten("revisionHeader") && !m.isWritten("http") {
                m.report("revisionHeader", "needs an http probe: a TCP connect has no headers")
            }
            return readiness
        }
    }

    /// An HTTP field name (a token), kept as written; compared without regard to case.
    private static func parseHeaderName(_ text: String) throws(InvalidValue) -> String {
        let punctuation = Set("!#$%&'*+-.^_`|~".unicodeScalars)
        guard !text.isEmpty,
            text.unicodeScalars.allSatisfy({
                ("A"..."Z").contains($0)
                    || ("a"..."z").contains($0) || ("0"..."9").contains($0) || punctuation.contains($0)
            })
        else { throw InvalidValue("\(text.debugDescription) is not a header name") }
        return text
    }

    /// The request target of the `GET`: an absolute path, query allowed, no spaces or controls.
    private static func parsePath(_ text: String) throws(InvalidValue) -> String {
        guard text.hasPrefix("/") else { throw InvalidValue("\(text.debugDescription) must start with \"/\"") }
        guard text.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
            throw InvalidValue("\(text.debugDescription) may contain only visible ASCII characters, no spaces")
        }
        return text
    }
}
