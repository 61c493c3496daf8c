// Decodes an arm's `tls` (server name, CA file) and `protocol` keys.

extension UpstreamTLSConfig {
    /// The CA file is read when the config is applied (start or reload), like listener certificates,
    /// so a missing or unreadable file refuses the reload instead of failing every handshake.
    static func decode(_ node: ConfigNode) -> UpstreamTLSConfig? {
        node.mapping { m in
            let serverName = m.optional("serverName") { $0.scalar(expected: "a host name", AddressSyntax.parseServerName) }
            let caFile = m.optional("caFile") { $0.nonEmptyString() }
            return UpstreamTLSConfig(serverName: serverName, caFile: caFile)
        }
    }
}

extension UpstreamProtocol {
    static func decode(_ node: ConfigNode) -> UpstreamProtocol? {
        node.scalar(expected: "http1 or h2") { text throws(InvalidValue) in
            guard let value = UpstreamProtocol(rawValue: text) else {
                throw InvalidValue("\(text.debugDescription) is not an upstream protocol; expected http1 or h2")
            }
            return value
        }
    }
}
