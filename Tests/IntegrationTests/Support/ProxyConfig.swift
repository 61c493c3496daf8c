// The proxy's YAML configuration as the tests build it: routes, arms, timeouts, limits.
import Foundation

struct ArmSpec: Sendable {
    var revision: String
    var endpoints: [String]
    /// The arm's `tls:` mapping (either key nil: not written); nil: plain TCP.
    var tls: (serverName: String?, caFile: String?)?
    /// The arm's `protocol:` (`http1`, `h2`); nil: not written.
    var upstreamProtocol: String?

    init(_ revision: String, _ endpoints: [String]) { self.revision = revision; self.endpoints = endpoints }
    init(_ revision: String, _ upstreams: TestUpstream...) { self.init(revision, upstreams.map(\.endpoint)) }
}

struct RouteSpec: Sendable {
    var name: String
    /// nil: any host; `"*.example.com"`: any subdomain.
    var host: String?
    var pathPrefix: String
    var primary: ArmSpec
    var canary: ArmSpec?
    var weight: Int
    /// The route's `outlierDetection`, `retries` and `healthCheck` keys to their YAML values (empty: not written).
    var outlierDetection: [String: String] = [:]
    var retries: [String: String] = [:]
    var healthCheck: [String: String] = [:]
    /// The canary's `match:` (cohorts) as a YAML flow list; nil: not written.
    var cohort: String?
    /// The route's `mirror:` as a YAML flow mapping; nil: not written.
    var mirror: String?
    /// The route's `sessionAffinity` as a YAML flow mapping; nil: not written.
    var sessionAffinity: String?

    init(
        _ name: String = "web", host: String? = nil, pathPrefix: String = "/", primary: ArmSpec,
        canary: ArmSpec? = nil, weight: Int = 0
    ) {
        self.name = name; self.host = host; self.pathPrefix = pathPrefix
        self.primary = primary; self.canary = canary; self.weight = weight
    }
}

/// A listener besides the harness's own `http` one (added or removed by a reload in the tests).
struct ListenerSpec: Sendable {
    var name: String
    var port: UInt16
    /// PEM certificate and key paths: the listener terminates TLS.
    var tls: (certificate: String, privateKey: String)?
    /// Written as `tls.certificates` (after `tls`, if any): more certificates chosen by SNI.
    var certificates: [(certificate: String, privateKey: String)]
    /// The `http2:` key (nil: not written).
    var http2: Bool?
    /// The `balance:` key (nil: not written).
    var balance: String?
    /// The `maxConnections:` key (nil: not written).
    var maxConnections: Int?
    init(
        _ name: String, port: UInt16, tls: (certificate: String, privateKey: String)? = nil,
        certificates: [(certificate: String, privateKey: String)] = [], http2: Bool? = nil, balance: String? = nil
    ) {
        self.name = name; self.port = port; self.tls = tls; self.certificates = certificates; self.http2 = http2
        self.balance = balance
    }
}

struct ProxyConfig: Sendable {
    var routes: [RouteSpec]
    /// The `threads:` key (nil: not written; the harness's `--threads` still overrides it).
    var threads: Int?
    /// Listeners after `http`, all on 127.0.0.1.
    var extraListeners: [ListenerSpec] = []
    /// `timeouts` keys (`requestHeader`, `idle`, `upstreamConnect`, `upstreamResponse`, `upstreamIdle`)
    /// to duration text (`300ms`, `2s`).
    var timeouts: [String: String] = [:]
    /// `limits` keys (`maxHeaderBytes`, `maxHeaderCount`, `maxIdlePerEndpoint`).
    var limits: [String: Int] = [:]
    /// The top-level `tracing:` as a YAML flow mapping; nil: not written.
    var tracing: String?
    /// The `accessLog:` value as YAML flow text (`{ path: "…", format: json }`); nil: not written.
    var accessLog: String?

    init(
        routes: [RouteSpec], timeouts: [String: String] = [:], limits: [String: Int] = [:],
        threads: Int? = nil, extraListeners: [ListenerSpec] = []
    ) {
        self.routes = routes; self.timeouts = timeouts; self.limits = limits
        self.threads = threads; self.extraListeners = extraListeners
    }

    /// One catch-all route `web` to `primary` (revision v1) and optionally `canary` (v2).
    static func single(
        primary: TestUpstream, canary: TestUpstream? = nil, weight: Int = 0,
        timeouts: [String: String] = [:], limits: [String: Int] = [:]
    ) -> ProxyConfig {
        ProxyConfig(
            routes: [
                RouteSpec(
                    primary: ArmSpec("v1", primary), canary: canary.map { ArmSpec("v2", $0) },
                    weight: weight)
            ],
            timeouts: timeouts, limits: limits)
    }

    /// One catch-all route to raw endpoint strings (e.g. a closed port).
    static func single(primaryEndpoints: [String], timeouts: [String: String] = [:]) -> ProxyConfig {
        ProxyConfig(routes: [RouteSpec(primary: ArmSpec("v1", primaryEndpoints))], timeouts: timeouts)
    }

    func yaml(listenPort: UInt16, adminPort: UInt16) -> String {
        var out = threads.map { "threads: \($0)\n" } ?? ""
        out += """
            admin:
              address: 127.0.0.1:\(adminPort)
            listeners:
              - name: http
                address: 127.0.0.1:\(listenPort)

            """
        for extra in extraListeners {
            out += "  - name: \(quoted(extra.name))\n    address: 127.0.0.1:\(extra.port)\n"
            let pair = { (p: (certificate: String, privateKey: String)) in
                "certificate: \(quoted(p.certificate)), privateKey: \(quoted(p.privateKey))"
            }
            var tlsFields = extra.tls.map { [pair($0)] } ?? []
            if !extra.certificates.isEmpty {
                tlsFields.append("certificates: [" + extra.certificates.map { "{ \(pair($0)) }" }.joined(separator: ", ") + "]")
            }
            if !tlsFields.isEmpty { out += "    tls: { \(tlsFields.joined(separator: ", ")) }\n" }
            if let http2 = extra.http2 { out += "    http2: \(http2)\n" }
            if let balance = extra.balance { out += "    balance: \(balance)\n" }
            if let maxConnections = extra.maxConnections { out += "    maxConnections: \(maxConnections)\n" }
        }
        if !timeouts.isEmpty {
            out += "timeouts:\n"
            for key in timeouts.keys.sorted() { out += "  \(key): \(timeouts[key]!)\n" }
        }
        if !limits.isEmpty {
            out += "limits:\n"
            for key in limits.keys.sorted() { out += "  \(key): \(limits[key]!)\n" }
        }
        if let tracing { out += "tracing: \(tracing)\n" }
        if let accessLog { out += "accessLog: \(accessLog)\n" }
        out += "routes:\n"
        for route in routes {
            out += "  - name: \(quoted(route.name))\n"
            out += "    match:\n"
            if let host = route.host { out += "      host: \(quoted(host))\n" }
            out += "      pathPrefix: \(quoted(route.pathPrefix))\n"
            out += "    primary:\n"
            out += "      revision: \(quoted(route.primary.revision))\n"
            out += "      endpoints: [\(route.primary.endpoints.map(quoted).joined(separator: ", "))]\n"
            out += upstreamKeys(route.primary)
            if let canary = route.canary {
                out += "    canary:\n"
                out += "      revision: \(quoted(canary.revision))\n"
                out += "      endpoints: [\(canary.endpoints.map(quoted).joined(separator: ", "))]\n"
                out += upstreamKeys(canary)
                out += "      weight: \(route.weight)\n"
                if let cohort = route.cohort { out += "      match: \(cohort)\n" }
            }
            if let mirror = route.mirror { out += "    mirror: \(mirror)\n" }
            if let affinity = route.sessionAffinity { out += "    sessionAffinity: \(affinity)\n" }
            for (section, keys) in [
                ("outlierDetection", route.outlierDetection), ("retries", route.retries), ("healthCheck", route.healthCheck),
            ] where !keys.isEmpty {
                out += "    \(section):\n"
                for key in keys.keys.sorted() { out += "      \(key): \(keys[key]!)\n" }
            }
        }
        return out
    }

    /// An arm's `tls:` and `protocol:` lines, those that are set.
    private func upstreamKeys(_ arm: ArmSpec) -> String {
        var out = ""
        if let tls = arm.tls {
            let keys = [tls.serverName.map { "serverName: \(quoted($0))" }, tls.caFile.map { "caFile: \(quoted($0))" }]
            out += "      tls: { \(keys.compactMap { $0 }.joined(separator: ", ")) }\n"
        }
        if let upstreamProtocol = arm.upstreamProtocol { out += "      protocol: \(upstreamProtocol)\n" }
        return out
    }

    /// Double-quoted YAML scalar: `*.example.com` unquoted would be an alias.
    private func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
