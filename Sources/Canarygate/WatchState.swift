// What `canarygate status --watch` knows: the last /status, and the timeline and events it has polled so far.
import Foundation

/// One route as the last GET /status showed it.
public struct WatchRoute: Sendable, Equatable {
    public struct Iterations: Sendable, Equatable {
        var done: Int
        var of: Int
    }

    public struct Verdict: Sendable, Equatable {
        var judge: String
        var outcome: String
        var summary: String
    }

    /// The sequential judge's evidence: its e-value against 1/α, and each outcome class's.
    public struct Evidence: Sendable, Equatable {
        var eValue: Double
        var threshold: Double
        var alpha: Double
        var failed: Bool
        var classes: [EvidenceClass]
        var comparisonAlphaRemaining: Double?
    }

    /// One outcome class's e-value and its share of α.
    public struct EvidenceClass: Sendable, Equatable {
        var label: String
        var eValue: Double
        var alpha: Double
    }

    var name: String
    /// The weight the route serves now.
    var weight: Int
    var primaryRevision: String
    var canaryRevision: String?
    /// The rollout's phase (nil: an unmanaged route).
    var phase: String?
    var paused = false
    var failedChecks = 0
    var message = ""
    /// A/B and blue/green: the iterations passed, of how many (nil: canary steps).
    var iterations: Iterations?
    var verdicts: [Verdict] = []
    var evidence: Evidence?
    /// After a promotion: the rollback window and the watch, as a sentence.
    var afterPromotion: String?
    /// The last undo and its hook's result, as a sentence.
    var lastUndo: String?
}

/// One entry of the event log as GET /timeline gives it.
public struct WatchEvent: Sendable, Equatable {
    var sequence: Int
    var unixTime: Double
    var route: String?
    var severity: String
    var line: String
}

/// The watcher's memory: the routes of the last /status, each route's samples (at most `capacity`, the
/// server's ten minutes) and the last `eventCapacity` events, gathered from successive timeline documents.
public struct WatchState: Sendable {
    public static let capacity = TimelineHistory.defaultCapacity
    public static let eventCapacity = 100

    public private(set) var routes: [WatchRoute] = []
    private(set) var samples: [String: [TimelineSample]] = [:]
    public private(set) var events: [WatchEvent] = []
    /// The admin API could not be reached or answered something else: why (cleared by the next good answer).
    public var problem: String?

    public init() {}

    public struct Unreadable: Error, CustomStringConvertible {
        public var description: String
    }

    /// What to ask GET /timeline for next: everything after the newest sample held (nil: all).
    public var since: Double? {
        samples.values.compactMap { $0.last?.t }.max()
    }

    /// The samples of `route`, oldest first.
    func samples(of route: String) -> [TimelineSample] { samples[route] ?? [] }

    /// Takes in a GET /status document.
    public mutating func absorb(status text: String) throws(Unreadable) {
        guard let json = Self.object(text), let list = json["routes"] as? [[String: Any]] else {
            throw Unreadable(description: "GET /status: not a status document")
        }
        routes = list.compactMap(WatchRoute.init(json:))
    }

    /// Takes in a GET /timeline document (all of it, or what came after `since`): new samples are appended
    /// to their route's history, the routes no longer in it are forgotten, events are kept once each.
    public mutating func absorb(timeline text: String) throws(Unreadable) {
        guard let json = Self.object(text), let list = json["routes"] as? [[String: Any]] else {
            throw Unreadable(description: "GET /timeline: not a timeline document")
        }
        var next: [String: [TimelineSample]] = [:]
        for route in list {
            guard let name = route["name"] as? String else { continue }
            var held = samples[name] ?? []
            let newest = held.last?.t ?? -.infinity
            let arriving = (route["samples"] as? [[String: Any]] ?? []).compactMap(TimelineSample.init(json:))
            held += arriving.filter { $0.t > newest }
            next[name] = Array(held.suffix(Self.capacity))
        }
        samples = next
        let known = Set(events.map(\.sequence))
        let arriving = (json["events"] as? [[String: Any]] ?? []).compactMap(WatchEvent.init(json:)).filter { !known.contains($0.sequence) }
        events = Array((events + arriving).sorted { $0.sequence < $1.sequence }.suffix(Self.eventCapacity))
    }

    private static func object(_ text: String) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
    }
}

/// JSON numbers arrive as NSNumber; these read them whatever their spelling.
private func double(_ any: Any?) -> Double? { (any as? NSNumber)?.doubleValue }
private func int(_ any: Any?) -> Int? { (any as? NSNumber)?.intValue }

extension WatchRoute {
    init?(json: [String: Any]) {
        guard let name = json["name"] as? String else { return nil }
        self.name = name
        weight = int(json["canaryWeight"]) ?? 0
        primaryRevision = (json["primary"] as? [String: Any])?["revision"] as? String ?? "?"
        canaryRevision = (json["canary"] as? [String: Any])?["revision"] as? String
        if let rollout = json["rollout"] as? [String: Any] {
            phase = rollout["phase"] as? String
            paused = (rollout["paused"] as? Bool) ?? false
            failedChecks = int(rollout["failedChecks"]) ?? 0
            message = rollout["message"] as? String ?? ""
            if let i = rollout["iterations"] as? [String: Any], let of = int(i["of"]) {
                iterations = Iterations(done: int(i["done"]) ?? 0, of: of)
            }
            verdicts = (rollout["lastVerdicts"] as? [[String: Any]] ?? []).map {
                Verdict(
                    judge: $0["judge"] as? String ?? "?", outcome: $0["outcome"] as? String ?? "?", summary: $0["summary"] as? String ?? "")
            }
            afterPromotion = (rollout["afterPromotion"] as? [String: Any]).map(Self.afterPromotionSentence)
            lastUndo = (rollout["lastUndo"] as? [String: Any]).map(Self.undoSentence)
        }
        evidence = (json["evidence"] as? [String: Any]).flatMap(Evidence.init(json:))
    }

    private static func afterPromotionSentence(_ a: [String: Any]) -> String {
        var parts = ["\(a["revision"] as? String ?? "?") promoted"]
        if let w = double(a["rollbackWindowRemainingSeconds"]), w > 0 { parts.append("undo possible for \(Int(w.rounded(.up)))s") }
        if let w = double(a["watchRemainingSeconds"]), w > 0 {
            parts.append("watched for \(Int(w.rounded(.up)))s more (\(int(a["watchedIntervals"]) ?? 0) intervals so far)")
        }
        if let alert = a["watchAlert"] as? String { parts.append("watch alert: \(alert)") }
        return parts.joined(separator: "; ")
    }

    private static func undoSentence(_ u: [String: Any]) -> String {
        let hook = (u["hookResult"] as? String).map { "; rollback hook \($0)" } ?? ""
        return "undo: \(u["undone"] as? String ?? "?") → \(u["restored"] as? String ?? "?") by \(u["method"] as? String ?? "?")"
            + " (\(u["reason"] as? String ?? ""))\(hook)"
    }
}

extension WatchRoute.Evidence {
    init?(json: [String: Any]) {
        guard let e = double(json["eValue"]), let threshold = double(json["eValueThreshold"]), let alpha = double(json["alpha"]) else {
            return nil
        }
        eValue = e
        self.threshold = threshold
        self.alpha = alpha
        failed = (json["failed"] as? Bool) ?? false
        let classes = json["classes"] as? [String: [String: Any]] ?? [:]
        self.classes = classes.keys.sorted().map { label in
            WatchRoute.EvidenceClass(
                label: label, eValue: double(classes[label]?["eValue"]) ?? 1, alpha: double(classes[label]?["alpha"]) ?? 0)
        }
        comparisonAlphaRemaining = double(json["comparisonAlphaRemaining"])
    }
}

extension WatchEvent {
    init?(json: [String: Any]) {
        guard let sequence = int(json["seq"]), let line = json["line"] as? String else { return nil }
        self.sequence = sequence
        unixTime = double(json["t"]) ?? 0
        route = json["route"] as? String
        severity = json["severity"] as? String ?? "info"
        self.line = line
    }
}

extension TimelineSample {
    /// A sample as GET /timeline wrote it (see TimelineDocument).
    init?(json: [String: Any]) {
        guard let t = double(json["t"]), let primary = (json["primary"] as? [String: Any]).flatMap(TimelineArmSample.init(json:)) else {
            return nil
        }
        self.init(
            t: t, weight: int(json["weight"]) ?? 0, primary: primary,
            canary: (json["canary"] as? [String: Any]).flatMap(TimelineArmSample.init(json:)))
    }
}

extension TimelineArmSample {
    init?(json: [String: Any]) {
        guard let rps = double(json["rps"]) else { return nil }
        func count(_ key: String) -> UInt64 { UInt64(max(0, int(json[key]) ?? 0)) }
        self.init(
            rps: rps, ok: count("ok"), clientErrors: count("4xx"), serverErrors: count("5xx"), failed: count("failed"),
            abort: count("abort"),
            p50: double(json["p50"]), p99: double(json["p99"]))
    }
}
