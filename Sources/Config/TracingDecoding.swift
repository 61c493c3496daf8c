// Decodes the top-level `tracing` section: traceparent handling and the arm header's switch and name.

extension TracingConfig {
    static func decode(_ node: ConfigNode) -> TracingConfig? {
        node.mapping { m in
            let traceparent = m.optional("traceparent", default: TraceParent.start) {
                $0.oneOf(TraceParent.self, noun: "a traceparent mode")
            }
            let armHeader = m.optional("armHeader", default: false) { $0.boolean() }
            let armHeaderName = m.optional("armHeaderName", default: defaultArmHeaderName) {
                $0.scalar(expected: "a field name", parseArmHeaderName)
            }
            guard let traceparent, let armHeader, let armHeaderName else { return nil }
            var config = TracingConfig()
            config.traceparent = traceparent
            config.armHeader = armHeader
            config.armHeaderName = armHeaderName
            return config
        }
    }

    /// Fields whose meaning the proxy (or HTTP itself) owns: naming the arm header after one would
    /// drop the upstream's field or break the message's framing. Compared lower-cased.
    static let reservedFieldNames: Set<String> = [
        "connection", "content-length", "forwarded", "host", "keep-alive", "proxy-connection", "set-cookie", "te",
        "trailer", "traceparent", "tracestate", "transfer-encoding", "upgrade", "x-forwarded-for", "x-forwarded-host",
        "x-forwarded-proto",
    ]

    /// A field name is a token (RFC 9110 §5.1); it is stored lower-cased, as HTTP/2 requires (RFC 9113
    /// §8.2.1) and as the upstream's own field of that name is matched.
    static func parseArmHeaderName(_ text: String) throws(InvalidValue) -> String {
        guard !text.isEmpty, text.utf8.allSatisfy(WebhookHeader.isTokenByte) else {
            throw InvalidValue("\(text.debugDescription) is not a field name (letters, digits and !#$%&'*+-.^_`|~ only)")
        }
        let lower = text.lowercased()
        guard !reservedFieldNames.contains(lower) else {
            throw InvalidValue("\(text.debugDescription) is a field the proxy or HTTP manages; choose another name")
        }
        return lower
    }
}
