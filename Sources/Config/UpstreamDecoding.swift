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

extension HealthCheckConfig {
    /// Exactly one of `path` (an HTTP GET) and `tcp: true`.
    static func decode(_ node: ConfigNode) -> HealthCheckConfig? {
        node.mapping { m in
            let path = m.optional("path") { node in
                node.scalar(expected: "a path") { text throws(InvalidValue) in
                    guard text.hasPrefix("/"), text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                        throw InvalidValue("\(text.debugDescription) must start with \"/\" and hold no spaces or control characters")
                    }
                    return text
                }
            }
            let tcp = m.optional("tcp") { $0.boolean() }
            let interval = m.optional("interval", default: Duration.seconds(5)) {
                $0.duration(atLeast: .milliseconds(100), written: "100ms")
            }
            let timeout = m.optional("timeout", default: Duration.seconds(1)) { $0.duration(atLeast: .milliseconds(10), written: "10ms") }
            let rise = m.optional("rise", default: 2) { $0.integer(in: 1...100) }
            let fall = m.optional("fall", default: 3) { $0.integer(in: 1...100) }
            guard let interval, let timeout, let rise, let fall else { return nil }
            let probe: Probe
            switch (path, tcp) {
            case (let path?, nil), (let path?, false?): probe = .http(path: path)
            case (nil, true?): probe = .tcp
            case (_?, true?):
                m.report("tcp", "choose one of path (an HTTP check) and tcp: true")
                return nil
            case (nil, _):
                if !m.isWritten("path") && !m.isWritten("tcp") {
                    m.report("path", "required unless tcp: true")
                } else if tcp == false {
                    m.report("tcp", "false needs a path (an HTTP check)")
                }
                return nil
            }
            if timeout > interval {
                m.report("timeout", "must not be longer than interval")
                return nil
            }
            var config = HealthCheckConfig(probe: probe)
            config.interval = interval
            config.timeout = timeout
            config.rise = rise
            config.fall = fall
            return config
        }
    }
}
