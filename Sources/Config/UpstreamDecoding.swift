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

extension OutlierDetectionConfig {
    static func decode(_ node: ConfigNode) -> OutlierDetectionConfig? {
        node.mapping { m in
            var config = OutlierDetectionConfig()
            let failures = m.optional("consecutiveFailures", default: config.consecutiveFailures) { $0.integer(in: 0...1000) }
            let base = m.optional("baseEjectionTime", default: config.baseEjectionTime) {
                $0.duration(atLeast: .milliseconds(10), written: "10ms")
            }
            let maximum = m.optional("maxEjectionTime", default: config.maxEjectionTime) {
                $0.duration(atLeast: .milliseconds(10), written: "10ms")
            }
            let percent = m.optional("maxEjectedPercent", default: config.maxEjectedPercent) { $0.integer(in: 0...100) }
            guard let failures, let base, let maximum, let percent else { return nil }
            if maximum < base {
                m.report("maxEjectionTime", "must not be shorter than baseEjectionTime")
                return nil
            }
            config.consecutiveFailures = failures
            config.baseEjectionTime = base
            config.maxEjectionTime = maximum
            config.maxEjectedPercent = percent
            return config
        }
    }
}

extension RetryConfig {
    static func decode(_ node: ConfigNode) -> RetryConfig? {
        node.mapping { m in
            var config = RetryConfig()
            let attempts = m.optional("attempts", default: config.attempts) { $0.integer(in: 0...3) }
            let percent = m.optional("budgetPercent", default: config.budgetPercent) { $0.integer(in: 0...100) }
            let floor = m.optional("minRetriesPerSecond", default: config.minRetriesPerSecond) { $0.integer(in: 0...1000) }
            guard let attempts, let percent, let floor else { return nil }
            config.attempts = attempts
            config.budgetPercent = percent
            config.minRetriesPerSecond = floor
            return config
        }
    }
}
