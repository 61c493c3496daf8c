// Routes compiled for matching on raw request bytes: host (exact or *.suffix) and path prefix, most specific first.
import Config
import EventLoop

/// How a route's `match.host` compares with the request's host (port stripped, case-insensitive).
public enum HostMatch: Sendable, Equatable {
    case any
    case exact([UInt8])
    /// `*.example.com` is stored as `.example.com`: the request host must end with it and be longer.
    case suffix([UInt8])

    init(pattern: String?) {
        guard let pattern else { self = .any; return }
        let lower = Array(pattern.lowercased().utf8)
        if lower.first == UInt8(ascii: "*") { self = .suffix(Array(lower.dropFirst())) } else { self = .exact(lower) }
    }

    /// Orders routes Envoy-style: exact hosts before wildcard suffixes (longer first) before catch-alls.
    var specificity: (Int, Int) {
        switch self {
        case .any: return (0, 0)
        case .suffix(let s): return (1, s.count)
        case .exact(let e): return (2, e.count)
        }
    }

    func matches(_ host: UnsafeRawBufferPointer) -> Bool {
        switch self {
        case .any: return true
        case .exact(let e): return host.count == e.count && equalsLowercased(host, e, offset: 0)
        case .suffix(let s): return host.count > s.count && equalsLowercased(host, s, offset: host.count - s.count)
        }
    }
}

@inline(__always)
private func equalsLowercased(_ bytes: UnsafeRawBufferPointer, _ lower: [UInt8], offset: Int) -> Bool {
    for i in 0..<lower.count {
        var c = bytes[offset + i]
        if c >= 65 && c <= 90 { c |= 0x20 }
        if c != lower[i] { return false }
    }
    return true
}

public struct ResolvedEndpoint: Sendable, Equatable {
    public var configured: HostPort
    public var address: SocketAddress
    /// nil: plain TCP.
    public var tls: UpstreamTLS?
}

public struct CompiledArm: Sendable, Equatable {
    public var revision: String
    public var endpoints: [ResolvedEndpoint]
    public var `protocol`: UpstreamProtocol
}

/// A class, not a struct: every request takes a reference to its route, and copying a struct of
/// strings, arrays and arms cost a retain and a release per reference field each time (callgrind:
/// 5 of each per HTTP/2 stream).
public final class CompiledRoute: Sendable {
    /// Position in the config (and in per-loop route state arrays).
    public let index: Int
    public let name: String
    public let host: HostMatch
    public let pathPrefix: [UInt8]
    public let primary: CompiledArm
    public let canary: CompiledArm?
    /// Canary share in percent, live: fixed for static routes, moved by the rollout for managed ones.
    public let weight: WeightCell
    /// The weight is the rollout controller's (the route has an `analysis` section).
    public let managed: Bool
    /// The judges' slow threshold T, published by the rollout controller (managed routes only; else 0).
    public let slowThreshold: SlowThresholdCell
    /// `canary.match` compiled; nil when the route has no cohort (the common case: one test per request).
    public let cohort: CohortRules?
    /// `mirror` compiled; nil when the route mirrors nothing (the common case: one test per request).
    public let mirror: MirrorRules?
    /// `sessionAffinity` compiled; nil when the route has none or no canary (one test per request).
    public let affinity: SessionAffinityRules?
    /// An arm of the route is an HTTP/2 upstream, to which HTTP/1.1 clients' gRPC requests are not
    /// relayed (decided here once, read on every HTTP/1.1 request).
    public let speaksOnlyHTTP2: Bool
    /// `outlierDetection` and `retries`, in the loops' nanoseconds, and `healthCheck`.
    let outlier: OutlierPolicy
    let retry: RetryPolicy
    let healthCheck: HealthCheckConfig?
    /// The access log's route, arm and revision text for each arm, escaped once per config, not per line.
    let primaryLogText: AccessLogFragment
    let canaryLogText: AccessLogFragment?

    /// Whether the canary takes requests singled out for it (its cohort, mirrored copies) now. A static
    /// route's canary is always live (`weight: 0` is pure A/B). A managed route's canary is live while the
    /// rollout gives it a weight above 0 (a stepped rollout's first step is at least 1) or holds it live
    /// at 0 (`WeightCell.liveAtZero`: `analysis.iterations`). A rollback, a hold, the pre-rollout hooks and
    /// finalising set 0 and not live — so after a rollback the cohort is back on the primary on the
    /// loops' next request, like everyone else.
    @inline(__always)
    var canaryIsLive: Bool {
        Self.canaryIsLive(managed: managed, weight: weight.weight, liveAtZero: weight.liveAtZero)
    }

    @inline(__always)
    static func canaryIsLive(managed: Bool, weight: Int, liveAtZero: Bool) -> Bool {
        weight > 0 || !managed || liveAtZero
    }

    init(
        index: Int, name: String, host: HostMatch, pathPrefix: [UInt8], primary: CompiledArm, canary: CompiledArm?,
        weight: WeightCell, managed: Bool, slowThreshold: SlowThresholdCell, cohort: CohortRules? = nil, mirror: MirrorRules? = nil,
        affinity: SessionAffinityRules? = nil, speaksOnlyHTTP2: Bool,
        outlier: OutlierPolicy = .default, retry: RetryPolicy = .default, healthCheck: HealthCheckConfig? = nil
    ) {
        self.index = index; self.name = name; self.host = host; self.pathPrefix = pathPrefix
        self.primary = primary; self.canary = canary; self.weight = weight; self.managed = managed
        self.slowThreshold = slowThreshold
        self.cohort = cohort
        self.mirror = mirror
        self.affinity = affinity
        self.speaksOnlyHTTP2 = speaksOnlyHTTP2
        self.outlier = outlier
        self.retry = retry
        self.healthCheck = healthCheck
        primaryLogText = .arm(route: name, arm: "primary", revision: primary.revision)
        canaryLogText = canary.map { .arm(route: name, arm: "canary", revision: $0.revision) }
    }
}

public struct RouteTable: Sendable {
    /// Most specific first: the first match wins.
    public let ordered: [CompiledRoute]
    public let byIndex: [CompiledRoute]

    /// Resolves endpoints (blocking DNS: call off the loops), loads the arms' TLS contexts and orders
    /// the routes; throws an `AddressError` or a `TLSError`.
    /// `weights` provides the cells of managed routes (shared across reloads); static routes get their own.
    public init(routes: [RouteConfig], weights: WeightRegistry = WeightRegistry()) throws {
        var compiled: [CompiledRoute] = []
        var contexts = UpstreamTLSContexts()
        for (i, r) in routes.enumerated() {
            let primary = try CompiledArm(r.primary, route: r.name, role: "primary", contexts: &contexts)
            var canary: CompiledArm?
            if let c = r.canary {
                canary = try CompiledArm(c.arm, route: r.name, role: "canary", contexts: &contexts)
            }
            let managed = r.analysis != nil && r.canary != nil
            compiled.append(
                CompiledRoute(
                    index: i, name: r.name, host: HostMatch(pattern: r.match.host),
                    pathPrefix: Array(r.match.pathPrefix.utf8), primary: primary, canary: canary,
                    weight: managed ? weights.cell(route: r.name) : WeightCell(r.canary?.weight ?? 0),
                    managed: managed,
                    slowThreshold: managed ? weights.slowThresholdCell(route: r.name) : SlowThresholdCell(),
                    cohort: r.canary.flatMap { CohortRules($0.match) },
                    mirror: r.canary == nil ? nil : r.mirror.flatMap(MirrorRules.init),
                    affinity: r.canary.flatMap { c in r.sessionAffinity.map { SessionAffinityRules($0, canaryRevision: c.arm.revision) } },
                    speaksOnlyHTTP2: primary.protocol == .h2 || canary?.protocol == .h2,
                    outlier: OutlierPolicy(r.outlierDetection), retry: RetryPolicy(r.retries),
                    healthCheck: r.healthCheck))
        }
        byIndex = compiled
        ordered = compiled.sorted { a, b in
            let (ka, la) = a.host.specificity, (kb, lb) = b.host.specificity
            if ka != kb { return ka > kb }
            if la != lb { return la > lb }
            if a.pathPrefix.count != b.pathPrefix.count { return a.pathPrefix.count > b.pathPrefix.count }
            return a.index < b.index
        }
    }

    /// The route for a request: `host` is the Host value (a `:port` suffix is ignored), `path` the target's path.
    public func match(host: UnsafeRawBufferPointer?, path: UnsafeRawBufferPointer) -> CompiledRoute? {
        var hostOnly = UnsafeRawBufferPointer(start: nil, count: 0)
        if let host { hostOnly = Self.stripPort(host) }
        for route in ordered {
            if case .any = route.host {} else if host == nil || !route.host.matches(hostOnly) { continue }
            if path.count >= route.pathPrefix.count
                && route.pathPrefix.withUnsafeBytes({ prefix in
                    prefix.count == 0 || memcmpEqual(path.baseAddress!, prefix.baseAddress!, prefix.count)
                })
            {
                return route
            }
        }
        return nil
    }

    /// "example.com:8080" → "example.com"; "[::1]:80" → "[::1]".
    static func stripPort(_ host: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        var end = host.count
        var i = host.count - 1
        while i >= 0 {
            let c = host[i]
            if c == UInt8(ascii: ":") { end = i; break }
            if c < UInt8(ascii: "0") || c > UInt8(ascii: "9") { break }
            i -= 1
        }
        return UnsafeRawBufferPointer(rebasing: host[0..<end])
    }
}

@inline(__always)
private func memcmpEqual(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ n: Int) -> Bool {
    for i in 0..<n where a.load(fromByteOffset: i, as: UInt8.self) != b.load(fromByteOffset: i, as: UInt8.self) { return false }
    return true
}

extension OutlierPolicy {
    init(_ c: OutlierDetectionConfig) {
        self.init(
            consecutiveFailures: c.consecutiveFailures, baseEjection: c.baseEjectionTime.nanoseconds,
            maxEjection: c.maxEjectionTime.nanoseconds, maxEjectedPercent: c.maxEjectedPercent)
    }
}

extension RetryPolicy {
    init(_ c: RetryConfig) {
        self.init(attempts: c.attempts, budget: RetryBudgetPolicy(percent: c.budgetPercent, minPerSecond: c.minRetriesPerSecond))
    }
}
