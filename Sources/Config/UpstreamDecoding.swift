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
