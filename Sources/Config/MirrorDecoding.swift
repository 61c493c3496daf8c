// Decodes `routes[].mirror`: weight, match, body and in-flight bounds, the comparison and the judge's threshold.

extension MirrorConfig {
    /// Reads the route's `mirror` key from `m` (always, so that it is never reported unknown). A mirror
    /// needs a canary to copy requests to, and copies are HTTP/1.1 requests: both arms must speak it.
    static func decode(in m: inout MappingReader, primary: ArmConfig?, canary: CanaryConfig?) -> MirrorConfig? {
        let mirror = m.optional("mirror", MirrorConfig.decode)
        if m.isWritten("mirror") && !m.isWritten("canary") { m.report("mirror", "requires a canary") }
        if m.isWritten("mirror") && (primary?.protocol == .h2 || canary?.arm.protocol == .h2) {
            m.report("mirror", "requires HTTP/1.1 arms: a route with a `protocol: h2` arm is not mirrored")
        }
        return mirror
    }

    static func decode(_ node: ConfigNode) -> MirrorConfig? {
        node.mapping { m in
            var mirror = MirrorConfig()
            let weight = m.optional("weight", default: mirror.weight) { $0.integer(in: 0...100) }
            let match = m.optional("match", default: []) { $0.list(atLeastOne: true, CohortEntry.decode) }
            let maxBody = m.optional("maxBodyBytes", default: mirror.maxBodyBytes) { $0.integer(in: 0...(16 << 20)) }
            let maxInFlight = m.optional("maxInFlight", default: mirror.maxInFlight) { $0.integer(in: 1...4096) }
            let compare = m.optional("compare", default: MirrorCompareConfig(), MirrorCompareConfig.decode)
            let maxMismatch = m.optional("maxMismatchPercent", default: mirror.maxMismatchPercent) { $0.number(.closed(0...100)) }
            guard let weight, let match, let maxBody, let maxInFlight, let compare, let maxMismatch else { return nil }
            mirror.weight = weight
            mirror.match = match
            mirror.maxBodyBytes = maxBody
            mirror.maxInFlight = maxInFlight
            mirror.compare = compare
            mirror.maxMismatchPercent = maxMismatch
            return mirror
        }
    }
}

extension MirrorCompareConfig {
    static func decode(_ node: ConfigNode) -> MirrorCompareConfig? {
        node.mapping { m in
            var compare = MirrorCompareConfig()
            let status = m.optional("status", default: true) { $0.boolean() }
            let body = m.optional("body", default: true) { $0.boolean() }
            let latency = m.optional("latency", default: true) { $0.boolean() }
            let ratio = m.optional("latencyRatio", default: compare.latencyRatio) {
                $0.number(NumberBounds(lower: (1, true), upper: (1000, true)))
            }
            let floor = m.optional("latencyFloor", default: compare.latencyFloor) {
                $0.scalar(expected: "a duration like \"50ms\"", parseFloor)
            }
            let headers = m.optional("ignoreHeaders", default: []) { $0.list(atLeastOne: true, parseHeaderName) }
            let fields = m.optional("ignoreJSONFields", default: []) { $0.list(atLeastOne: true, parseFieldPath) }
            guard let status, let body, let latency, let ratio, let floor, let headers, let fields else { return nil }
            compare.status = status
            compare.body = body
            compare.latency = latency
            compare.latencyRatio = ratio
            compare.latencyFloor = floor
            compare.ignoreHeaders = headers
            compare.ignoreJSONFields = fields
            return compare
        }
    }

    /// A duration, or zero (`0`, `0s`, `0ms`): no allowance beyond the ratio.
    private static func parseFloor(_ text: String) throws(InvalidValue) -> Duration {
        ["0", "0s", "0ms", "0us"].contains(text) ? .zero : try DurationSyntax.parse(text)
    }

    /// Field names are case-insensitive: kept lower-case.
    private static func parseHeaderName(_ node: ConfigNode) -> String? {
        node.scalar(expected: "a header name") { text throws(InvalidValue) in
            guard !text.isEmpty, text.utf8.allSatisfy(WebhookHeader.isTokenByte) else {
                throw InvalidValue("\(text.debugDescription) is not a valid header name (letters, digits and !#$%&'*+-.^_`|~ only)")
            }
            return text.lowercased()
        }
    }

    /// `a.b.c`: member names separated by dots, none empty.
    private static func parseFieldPath(_ node: ConfigNode) -> String? {
        node.scalar(expected: "a dotted field path like \"meta.requestId\"") { text throws(InvalidValue) in
            guard !text.isEmpty, !text.split(separator: ".", omittingEmptySubsequences: false).contains(where: \.isEmpty) else {
                throw InvalidValue("\(text.debugDescription) is not a field path (member names separated by single dots)")
            }
            return text
        }
    }
}

extension RouteConfig {
    /// Sets the route's mirror, and hands its threshold to the mismatch judge of a managed route.
    mutating func attach(mirror: MirrorConfig?) {
        self.mirror = mirror
        // A mirror at weight 0 copies nothing: a judge waiting for its evidence would hold the rollout for ever.
        analysis?.mirror = mirror.flatMap { $0.weight > 0 ? MirrorJudgeConfig(maxMismatchPercent: $0.maxMismatchPercent) : nil }
    }
}
