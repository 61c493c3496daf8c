// Decodes `routes`: each route's name, match, primary arm, optional canary arm, its analysis, outlier detection, retries and health check.

extension RouteConfig {
    /// Two routes with the same match would make the second unreachable, so that is an error too.
    static func decodeList(_ node: ConfigNode) -> [RouteConfig]? {
        var names = DuplicateCheck<String>()
        var matches = DuplicateCheck<MatchKey>()
        return node.list(atLeastOne: true) { item in
            item.mapping { m in
                let name = m.required("name") { node in
                    node.scalar(expected: "a string", parseName).flatMap {
                        names.claim($0, shown: $0.debugDescription, at: node)
                    }
                }
                let match = m.optional("match", default: MatchConfig(), MatchConfig.decode).flatMap { match in
                    matches.claim(
                        MatchKey(host: match.host, pathPrefix: match.pathPrefix), shown: nil,
                        path: m.pathOf("match"), line: m.lineOf("match"), log: m.mapping.log
                    ).map { _ in match }
                }
                let primary = m.required("primary", ArmConfig.decode)
                let canary = m.optional("canary", CanaryConfig.decode)
                let analysis = m.optional("analysis", AnalysisConfig.decode)
                let outlierDetection = m.optional("outlierDetection", default: OutlierDetectionConfig(), OutlierDetectionConfig.decode)
                let retries = m.optional("retries", default: RetryConfig(), RetryConfig.decode)
                let healthCheck = m.optional("healthCheck", HealthCheckConfig.decode)
                let mirror = MirrorConfig.decode(in: &m, primary: primary, canary: canary)
                let sessionAffinity = m.optional("sessionAffinity", SessionAffinityConfig.decode)
                // Checked on what is written, so that an invalid canary is not also reported missing.
                if m.isWritten("analysis") && !m.isWritten("canary") { m.report("analysis", "requires a canary") }
                if m.isWritten("sessionAffinity") && !m.isWritten("canary") { m.report("sessionAffinity", "requires a canary") }
                guard let name, let match, let primary, let outlierDetection, let retries else { return nil }
                var route = RouteConfig(name: name, match: match, primary: primary, canary: canary, analysis: analysis)
                route.outlierDetection = outlierDetection
                route.retries = retries
                route.healthCheck = healthCheck
                route.attach(mirror: mirror)
                route.sessionAffinity = sessionAffinity
                return route
            }
        }
    }

    /// What makes two matches the same; the schema's `MatchConfig` need not be `Hashable` for this.
    private struct MatchKey: Hashable {
        var host: String?
        var pathPrefix: String
    }

    /// Route names appear in metric labels, URLs of the admin API and the state file.
    private static func parseName(_ text: String) throws(InvalidValue) -> String {
        guard !text.isEmpty else { throw InvalidValue("must not be empty") }
        guard text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isWholeNumber || "_.-".contains($0)) }) else {
            throw InvalidValue("\(text.debugDescription) may contain only letters, digits, \"_\", \".\" and \"-\"")
        }
        return text
    }
}

extension MatchConfig {
    static func decode(_ node: ConfigNode) -> MatchConfig? {
        node.mapping { m in
            let host = m.optional("host") { $0.scalar(expected: "a string", AddressSyntax.parseHostPattern) }
            let pathPrefix = m.optional("pathPrefix", default: "/") { $0.scalar(expected: "a string", parsePathPrefix) }
            guard let pathPrefix else { return nil }
            return MatchConfig(host: host, pathPrefix: pathPrefix)
        }
    }

    static func parsePathPrefix(_ text: String) throws(InvalidValue) -> String {
        guard text.hasPrefix("/") else { throw InvalidValue("\(text.debugDescription) must start with \"/\"") }
        return text
    }
}

extension ArmConfig {
    static func decode(_ node: ConfigNode) -> ArmConfig? {
        node.mapping { m in decodeFields(&m) }
    }

    /// The keys both arms have; the canary reads its own `weight` beside them.
    static func decodeFields(_ m: inout MappingReader) -> ArmConfig? {
        let revision = m.required("revision") { $0.nonEmptyString() }
        let endpoints = m.required("endpoints") { $0.list(atLeastOne: true) { $0.hostPort() } }
        let tls = m.optional("tls", UpstreamTLSConfig.decode)
        let upstreamProtocol = m.optional("protocol", default: .http1) { $0.oneOf(UpstreamProtocol.self, noun: "an upstream protocol") }
        guard let revision, let endpoints, let upstreamProtocol else { return nil }
        return ArmConfig(revision: revision, endpoints: endpoints, tls: tls, protocol: upstreamProtocol)
    }
}

extension CanaryConfig {
    static func decode(_ node: ConfigNode) -> CanaryConfig? {
        node.mapping { m in
            let arm = ArmConfig.decodeFields(&m)
            let weight = m.optional("weight", default: 0) { $0.integer(in: 0...100) }
            let match = m.optional("match", default: []) { $0.list(atLeastOne: true, CohortEntry.decode) }
            guard let arm, let weight, let match else { return nil }
            return CanaryConfig(arm: arm, weight: weight, match: match)
        }
    }
}
