// The config fingerprint: managed routes' revisions, a hash stable across processes, and the leader's disagreement sentences.
import Config
import Rollout
import Testing

@testable import Cluster

@Suite struct ConfigFingerprintTests {
    static func managed(_ name: String, primary: String = "v1", canary: String = "v2", port: UInt16 = 9001) -> RouteConfig {
        RouteConfig(
            name: name, match: MatchConfig(pathPrefix: "/\(name)"),
            primary: ArmConfig(revision: primary, endpoints: [HostPort(host: "127.0.0.1", port: port)]),
            canary: CanaryConfig(arm: ArmConfig(revision: canary, endpoints: [HostPort(host: "::1", port: port + 1)]), weight: 0),
            analysis: AnalysisConfig())
    }

    static func config(_ routes: [RouteConfig]) -> CanarygateConfig {
        var config = CanarygateConfig()
        config.routes = routes
        return config
    }

    @Test func fnv1aMatchesItsPublishedVectors() {
        #expect(StableDigest.fnv1a64([]) == 0xcbf2_9ce4_8422_2325)
        #expect(StableDigest.fnv1a64(Array("a".utf8)) == 0xaf63_dc4c_8601_ec8c)
        #expect(StableDigest.fnv1a64(Array("foobar".utf8)) == 0x8594_4171_f739_67e8)
    }

    @Test func onlyManagedRoutesAreFingerprinted() {
        var staticRoute = Self.managed("static")
        staticRoute.analysis = nil
        let plain = RouteConfig(
            name: "plain", match: MatchConfig(), primary: ArmConfig(revision: "p", endpoints: [HostPort(host: "h", port: 1)]), canary: nil)
        let fingerprint = ConfigFingerprint(Self.config([Self.managed("api"), staticRoute, plain]))
        #expect(fingerprint.revisions == ["api": RouteRevisions(primary: "v1", canary: "v2")])
        #expect(fingerprint == ConfigFingerprint(Self.config([Self.managed("api")])), "unmanaged routes do not change the hash")
    }

    /// A literal: the same text and hash in every process and run (Swift's Hasher would differ per process).
    @Test func theHashIsAFixedFunctionOfTheCanonicalText() {
        let fingerprint = ConfigFingerprint(Self.config([Self.managed("api")]))
        #expect(
            fingerprint.canonicalText.hasPrefix("route 3:api\nprimary 2:v1 14:127.0.0.1:9001\ncanary 2:v2 10:[::1]:9002\ninterval 60s0ns\n")
        )
        #expect(fingerprint.hash == String(StableDigest.fnv1a64(Array(fingerprint.canonicalText.utf8)), radix: 16).leftPadded(16))
        // Pinned: a change to any part of the canonical text (not only the prefix above) changes it.
        #expect(fingerprint.hash == "7040ba3ac8f24be3")
        #expect(fingerprint.hash.count == 16)
    }

    @Test func routeOrderDoesNotMatterButEverySteeringFieldDoes() {
        let base = ConfigFingerprint(Self.config([Self.managed("api"), Self.managed("web", port: 9100)]))
        #expect(base == ConfigFingerprint(Self.config([Self.managed("web", port: 9100), Self.managed("api")])))
        var changes: [RouteConfig] = []
        for change in 0..<9 {
            var route = Self.managed("api")
            switch change {
            case 0: route.primary.revision = "v0"
            case 1: route.canary?.arm.revision = "v3"
            case 2: route.primary.endpoints.append(HostPort(host: "127.0.0.2", port: 9001))
            case 3: route.canary?.arm.endpoints = [HostPort(host: "::1", port: 9003)]
            case 4: route.analysis?.interval = .milliseconds(1500)
            case 5: route.analysis?.stepWeights = [5, 20, 50]
            case 6: route.analysis?.maxWeight = 30
            case 7: route.analysis?.threshold = 2
            default: route.analysis?.iterations = 10
            }
            changes.append(route)
        }
        let hashes = Set(changes.map { ConfigFingerprint(Self.config([$0, Self.managed("web", port: 9100)])).hash } + [base.hash])
        #expect(hashes.count == changes.count + 1)
    }

    @Test func namesCannotImitateAFieldBoundary() {
        let a = ConfigFingerprint(Self.config([Self.managed("a", primary: "v1 canary")]))
        let b = ConfigFingerprint(Self.config([Self.managed("a", primary: "v1")]))
        #expect(a.hash != b.hash)
    }

    @Test func agreeingReplicasGiveNoSentence() {
        let revisions = ["api": RouteRevisions(primary: "v1", canary: "v2")]
        #expect(ConfigFingerprint.disagreements(leader: ("a", revisions), replicas: [("a", revisions), ("b", revisions)]).isEmpty)
    }

    @Test func differingRevisionsListEveryReplicaInNameOrder() {
        let leader = ["api": RouteRevisions(primary: "v1", canary: "v2"), "web": RouteRevisions(primary: "w1", canary: "w2")]
        let disagreements = ConfigFingerprint.disagreements(
            leader: ("a", leader),
            replicas: [("c", leader), ("b", ["api": RouteRevisions(primary: "v1", canary: "v3"), "web": leader["web"]!]), ("a", leader)])
        let sentences = disagreements.map(\.sentence)
        #expect(disagreements.map(\.route) == ["api"])
        #expect(
            sentences == [
                "api: replicas disagree on revisions: a primary v1 canary v2; b primary v1 canary v3; c primary v1 canary v2; not advancing"
            ])
    }

    @Test func aReplicaWithoutTheRouteDisagrees() {
        let leader = ["api": RouteRevisions(primary: "v1", canary: "v2"), "web": RouteRevisions(primary: "w1", canary: "w2")]
        let sentences = ConfigFingerprint.disagreements(
            leader: ("b", leader), replicas: [("a", ["web": leader["web"]!, "extra": RouteRevisions(primary: "x", canary: "y")])]
        ).map(\.sentence)
        #expect(sentences == ["api: replicas disagree on revisions: a lacks the route; b primary v1 canary v2; not advancing"])
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
