// Decodes the document root and the proxy-wide sections: threads, admin, listeners, timeouts, limits, state, cluster.

extension CanarygateConfig {
    /// A new top-level section is one line here plus its own `decode`.
    static func decode(_ root: ConfigNode) -> CanarygateConfig? {
        root.mapping { m in
            var config = CanarygateConfig()
            config.threads = m.optional("threads") { $0.integer(in: 1...256) }
            config.admin = m.optional("admin", AdminConfig.decode) ?? config.admin
            config.listeners = m.required("listeners", ListenerConfig.decodeList) ?? []
            config.timeouts = m.optional("timeouts", TimeoutsConfig.decode) ?? config.timeouts
            config.limits = m.optional("limits", LimitsConfig.decode) ?? config.limits
            config.routes = m.required("routes", RouteConfig.decodeList) ?? []
            config.state = m.optional("state", StateConfig.decode)
            config.cluster = m.optional("cluster", ClusterConfig.decode)
            config.alerts = m.optional("alerts", AlertConfig.decodeList) ?? []
            config.tracing = m.optional("tracing", TracingConfig.decode) ?? config.tracing
            config.accessLog = m.optional("accessLog", AccessLogConfig.decode)
            return config
        }
    }
}

extension AdminConfig {
    static func decode(_ node: ConfigNode) -> AdminConfig? {
        node.mapping { m in
            var admin = AdminConfig()
            admin.address = m.optional("address") { $0.hostPort() } ?? admin.address
            admin.operatorToken = m.optional("operatorTokenFile") { $0.adminTokenFile() }
            admin.readerToken = m.optional("readerTokenFile") { $0.adminTokenFile() }
            // Anyone who can reach the port could reload the proxy or abort a rollout.
            if !admin.address.isLoopback && !m.isWritten("operatorTokenFile") {
                m.report("address", "\(admin.address) is reachable from other hosts; set admin.operatorTokenFile, or listen on loopback")
            }
            if let operatorToken = admin.operatorToken, let readerToken = admin.readerToken, operatorToken.bytes == readerToken.bytes {
                m.report("readerTokenFile", "holds the operator's token; a reader token must differ, or readers could change the proxy")
            }
            return admin
        }
    }
}

extension StateConfig {
    /// A relative path is relative to the proxy's working directory.
    static func decode(_ node: ConfigNode) -> StateConfig? {
        node.mapping { m in
            let path = m.required("path") { node -> String? in
                node.nonEmptyString().flatMap { path -> String? in
                    guard !path.hasSuffix("/") else {
                        node.report("\(path.debugDescription) is a directory; name the state file")
                        return nil
                    }
                    return path
                }
            }
            return path.map(StateConfig.init)
        }
    }
}

extension ListenerConfig {
    /// Names must be unique because metrics and logs are labelled by them; addresses because
    /// two listeners cannot bind the same one.
    static func decodeList(_ node: ConfigNode) -> [ListenerConfig]? {
        var names = DuplicateCheck<String>()
        var addresses = DuplicateCheck<HostPort>()
        return node.list(atLeastOne: true) { item in
            item.mapping { m in
                let name = m.required("name") { node in
                    node.nonEmptyString().flatMap { names.claim($0, shown: $0.debugDescription, at: node) }
                }
                let address = m.required("address") { node in
                    node.hostPort().flatMap { addresses.claim($0, shown: $0.description, at: node) }
                }
                let tls = m.optional("tls", ListenerTLSConfig.decode)
                let http2 = m.optional("http2", default: true) { $0.boolean() }
                let balance = m.optional("balance", default: .connections) { $0.oneOf(AcceptBalance.self, noun: "a balance") }
                let maxConnections = m.optional("maxConnections") { $0.integer(in: 1...10_000_000) }
                guard let name, let address, let http2, let balance else { return nil }
                return ListenerConfig(
                    name: name, address: address, tls: tls, http2: http2, balance: balance,
                    maxConnections: maxConnections)
            }
        }
    }
}

extension ListenerTLSConfig {
    /// `certificate` + `privateKey` (the default certificate) and/or a `certificates` list, which
    /// follows it. The files are read when the config is applied (start or reload), so a bad
    /// certificate refuses the reload instead of taking the listener down.
    static func decode(_ node: ConfigNode) -> ListenerTLSConfig? {
        let problemsBefore = node.log.count
        return node.mapping { m in
            let single = CertificateConfig.read(&m, required: m.isWritten("certificate") || m.isWritten("privateKey"))
            let list = m.optional("certificates") { $0.list(atLeastOne: false, CertificateConfig.decode) }
            let certificates = (single.map { [$0] } ?? []) + (list ?? [])
            // Said only when nothing else explains it (a half-written pair already reports its missing key).
            if certificates.isEmpty && node.log.count == problemsBefore {
                m.mapping.report("needs a certificate: certificate and privateKey, or a certificates list")
            }
            return certificates.isEmpty ? nil : ListenerTLSConfig(certificates: certificates)
        }
    }
}

extension CertificateConfig {
    /// One entry of `tls.certificates`: both keys required.
    static func decode(_ node: ConfigNode) -> CertificateConfig? {
        node.mapping { m in read(&m, required: true) }
    }

    /// Reads `certificate` and `privateKey` from `m`; when not `required`, both may be absent.
    static func read(_ m: inout MappingReader, required: Bool) -> CertificateConfig? {
        let path = { (node: ConfigNode) in node.nonEmptyString() }
        let certificate = required ? m.required("certificate", path) : m.optional("certificate", path)
        let privateKey = required ? m.required("privateKey", path) : m.optional("privateKey", path)
        guard let certificate, let privateKey else { return nil }
        return CertificateConfig(certificate: certificate, privateKey: privateKey)
    }
}

extension TimeoutsConfig {
    static func decode(_ node: ConfigNode) -> TimeoutsConfig? {
        node.mapping { m in
            var timeouts = TimeoutsConfig()
            let duration = { (node: ConfigNode) in node.duration() }
            timeouts.requestHeader = m.optional("requestHeader", duration) ?? timeouts.requestHeader
            timeouts.tlsHandshake = m.optional("tlsHandshake", duration) ?? timeouts.tlsHandshake
            timeouts.idle = m.optional("idle", duration) ?? timeouts.idle
            timeouts.requestBody = m.optional("requestBody", duration) ?? timeouts.requestBody
            timeouts.upstreamConnect = m.optional("upstreamConnect", duration) ?? timeouts.upstreamConnect
            timeouts.upstreamResponse = m.optional("upstreamResponse", duration) ?? timeouts.upstreamResponse
            timeouts.upstreamIdle = m.optional("upstreamIdle", duration) ?? timeouts.upstreamIdle
            timeouts.tunnel = m.optional("tunnel", duration) ?? timeouts.tunnel
            timeouts.drain = m.optional("drain", duration) ?? timeouts.drain
            return timeouts
        }
    }
}

extension LimitsConfig {
    /// The floors keep a config from making every request fail: no real request head fits in
    /// less than 1 KiB. The ceilings bound the memory one connection can make the proxy hold.
    static func decode(_ node: ConfigNode) -> LimitsConfig? {
        node.mapping { m in
            var limits = LimitsConfig()
            limits.maxHeaderBytes = m.optional("maxHeaderBytes") { $0.integer(in: 1024...1_048_576) } ?? limits.maxHeaderBytes
            limits.maxHeaderCount = m.optional("maxHeaderCount") { $0.integer(in: 1...10_000) } ?? limits.maxHeaderCount
            limits.maxIdlePerEndpoint =
                m.optional("maxIdlePerEndpoint") { $0.integer(in: 0...10_000) } ?? limits.maxIdlePerEndpoint
            limits.minRequestBodyRate =
                m.optional("minRequestBodyRate") { $0.integer(in: 0...1_073_741_824) } ?? limits.minRequestBodyRate
            limits.maxConnections = m.optional("maxConnections") { $0.integer(in: 1...10_000_000) }
            limits.requestBuffer = m.optional("requestBuffer") { $0.integer(in: 0...1_048_576) } ?? limits.requestBuffer
            limits.splice = m.optional("splice") { $0.boolean() } ?? limits.splice
            return limits
        }
    }
}
