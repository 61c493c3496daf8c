// What a replica's managed routes are, as the fleet compares them: revisions per route, and one stable hash.
import Config
import Rollout

/// The revisions a managed route runs: the stable one and the one being rolled out.
public struct RouteRevisions: Sendable, Hashable, Codable, CustomStringConvertible {
    public var primary: String
    public var canary: String

    public init(primary: String, canary: String) {
        self.primary = primary
        self.canary = canary
    }

    public var description: String { "primary \(primary) canary \(canary)" }
}

/// A replica's managed routes (those with a canary and an `analysis` section) as its record publishes
/// them: the leader only advances a rollout whose replicas all run the same revisions, and shows the
/// hashes so that an operator sees which replica's config differs in anything else that steers it.
public struct ConfigFingerprint: Sendable, Equatable {
    /// By route name.
    public var revisions: [String: RouteRevisions]
    /// 16 hex digits: FNV-1a (64 bits) of `canonicalText`. The same on every process and run (Swift's
    /// `Hasher` is seeded per process, so it cannot be compared across replicas).
    public var hash: String
    /// One line per field that steers a managed route's rollout, routes sorted by name; every string
    /// is written with its length, so no route name or revision can imitate a field boundary.
    public var canonicalText: String

    public init(_ config: CanarygateConfig) {
        let managed = config.routes.filter { $0.canary != nil && $0.analysis != nil }.sorted { $0.name < $1.name }
        var revisions: [String: RouteRevisions] = [:]
        var text = ""
        for route in managed {
            guard let canary = route.canary, let analysis = route.analysis else { continue }
            revisions[route.name] = RouteRevisions(primary: route.primary.revision, canary: canary.arm.revision)
            text += Self.describe(route.name, primary: route.primary, canary: canary.arm, analysis: analysis)
        }
        self.revisions = revisions
        canonicalText = text
        hash = StableDigest.hex16(StableDigest.fnv1a64(text.utf8))
    }

    /// One sentence per route of `leader` on which some replica runs other revisions or lacks the route,
    /// sorted by route, each listing every replica (and the leader) in name order, e.g.
    /// `api: replicas disagree on revisions: a primary v1 canary v2; b primary v1 canary v3; not advancing`.
    /// Routes only replicas manage are not the leader's to advance, so they are left out.
    public static func disagreements(
        leader: (name: String, revisions: [String: RouteRevisions]), replicas: [(name: String, revisions: [String: RouteRevisions])]
    ) -> [(route: String, sentence: String)] {
        var everyone: [String: [String: RouteRevisions]] = [:]
        for replica in replicas { everyone[replica.name] = replica.revisions }
        everyone[leader.name] = leader.revisions
        let names = everyone.keys.sorted()
        return leader.revisions.keys.sorted().compactMap { route in
            let expected = leader.revisions[route]
            guard names.contains(where: { everyone[$0]?[route] != expected }) else { return nil }
            let each = names.map { name in everyone[name]?[route].map { "\(name) \($0)" } ?? "\(name) lacks the route" }
            return (route, "\(route): replicas disagree on revisions: \(each.joined(separator: "; ")); not advancing")
        }
    }

    private static func describe(_ name: String, primary: ArmConfig, canary: ArmConfig, analysis: AnalysisConfig) -> String {
        var lines = ["route \(quoted(name))"]
        for (label, arm) in [("primary", primary), ("canary", canary)] {
            lines.append("\(label) \(quoted(arm.revision)) \(arm.endpoints.map { quoted($0.description) }.joined(separator: " "))")
        }
        lines += [
            "interval \(nanoseconds(analysis.interval))",
            "threshold \(analysis.threshold)",
            "stepWeight \(analysis.stepWeight)",
            "stepWeights \(analysis.stepWeights.map(String.init).joined(separator: " "))",
            "maxWeight \(analysis.maxWeight)",
            "stepWeightPromotion \(analysis.stepWeightPromotion.map(String.init) ?? "none")",
            "stepWeightRollback \(analysis.stepWeightRollback)",
            "iterations \(analysis.iterations.map(String.init) ?? "none")",
            "minRequests \(analysis.minRequests)",
            "pace \(analysis.pace.rawValue)",
            "minDwell \(nanoseconds(analysis.minDwell))",
            "progressDeadline \(nanoseconds(analysis.progressDeadline))",
            "skipAnalysis \(analysis.skipAnalysis)",
            "requireEvidence \(analysis.requireEvidence)",
        ]
        return lines.map { $0 + "\n" }.joined()
    }

    private static func quoted(_ text: String) -> String { "\(text.utf8.count):\(text)" }

    private static func nanoseconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        return "\(seconds)s\(attoseconds / 1_000_000_000)ns"
    }
}
