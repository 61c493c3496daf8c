// Judge 3: one anytime-valid e-process over every bad outcome class, "does the canary take more than its share?"

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Config

/// Judge 3 (docs/JUDGES.md): fed every control tick (100 ms) with both arms' counts by outcome class,
/// from the rollout's first canary request to its end — pauses, hooks and restarts continue it.
///
/// **Model.** Requests are assigned to the arms at random (the split), so under H0 — the canary is
/// as good as the primary — a request of any bad class (5xx, 4xx, abort, slow) is on the canary with
/// the canary's share of the traffic, q. One `ShareBet` per class bets, episode by episode, that the
/// canary holds more than q of that class (clusters of events count once; see `ShareBet`).
///
/// **One α for all classes.** The judge's evidence is the weighted sum of the classes' e-values,
/// `M = Σ_c w_c · E_c` with `Σ w_c = 1` — itself a test martingale — and the judge fails as soon as
/// M ≥ 1/α. By Ville's inequality the chance that this ever happens under H0 is at most α for the
/// whole rollout, however long it runs and however often it is looked at: the weights are the α
/// budget, class c alone failing the judge only when E_c ≥ 1/(α·w_c). 5xx gets `weights[5xx]` = 0.4,
/// the other three 0.2 each.
///
/// - The failure is sticky (the guarantee is about M *ever* crossing).
/// - It never answers *no data* and never passes a canary on absence of evidence: it only vetoes.
///   Promotion needs positive evidence from `PromotionEvidence`.
public struct SequentialJudge: Sendable, Equatable, Codable {
    /// The α budget of each class, as a share of α.
    public static let weights: [OutcomeClass: Double] = [.serverError: 0.4, .clientError: 0.2, .abort: 0.2, .slow: 0.2]

    /// The false-rollback rate guaranteed for the whole rollout.
    public let alpha: Double
    /// One bet per class, indexed by `OutcomeClass.rawValue`.
    public private(set) var bets: [ShareBet]
    /// Ticks observed with requests on both arms, and requests seen on each arm.
    public private(set) var ticks = 0
    public private(set) var canaryRequests: UInt64 = 0
    public private(set) var primaryRequests: UInt64 = 0
    /// M has reached 1/α.
    public private(set) var failed = false
    /// The class that led when M reached 1/α (what the verdict names once the failure is sticky).
    public private(set) var failedBy: OutcomeClass?

    public init(config: SequentialConfig) {
        self.init(alpha: config.alpha)
    }

    /// A judge at level `alpha` in (0, 1).
    public init(alpha: Double) {
        precondition(alpha > 0 && alpha < 1, "alpha must be in (0, 1)")
        self.alpha = alpha
        bets = OutcomeClass.allCases.map { _ in ShareBet() }
    }

    /// ln(1/α).
    public var logThreshold: Double { -log(alpha) }

    /// ln M.
    public var logEValue: Double {
        var terms: [Double] = []
        terms.reserveCapacity(bets.count)
        for c in OutcomeClass.allCases { terms.append(log(Self.weights[c]!) + bets[c.rawValue].logEValue) }
        let largest = terms.max()!
        return largest + log(terms.reduce(0) { $0 + exp($1 - largest) })
    }

    /// ln E_c of one class.
    public func logEValue(_ c: OutcomeClass) -> Double { bets[c.rawValue].logEValue }

    /// Feeds one tick's counts; returns whether the judge has failed.
    @discardableResult
    public mutating func update(canary: OutcomeCounts, primary: OutcomeCounts) -> Bool {
        if canary.requests > 0 && primary.requests > 0 { ticks += 1 }
        canaryRequests += canary.requests
        primaryRequests += primary.requests
        var moved = false
        for c in OutcomeClass.allCases {
            let nc = canary.population(c), np = primary.population(c)
            let q = nc + np == 0 ? 0 : Double(nc) / Double(nc + np)
            if bets[c.rawValue].observe(canaryBad: canary[c], primaryBad: primary[c], canaryShare: q) { moved = true }
        }
        if moved, !failed, logEValue >= logThreshold {
            failed = true
            failedBy = leadingClass
        }
        return failed
    }

    /// Feeds one tick's counts and returns the verdict.
    public mutating func observe(canary: OutcomeCounts, primary: OutcomeCounts) -> Verdict {
        update(canary: canary, primary: primary)
        return verdict
    }

    /// The class with the most evidence against the canary, relative to its budget.
    public var leadingClass: OutcomeClass {
        OutcomeClass.allCases.max { a, b in
            log(Self.weights[a]!) + logEValue(a) < log(Self.weights[b]!) + logEValue(b)
        }!
    }

    /// The verdict for the evidence so far (judge "sequential"): which class leads, and each class's e-value.
    public var verdict: Verdict {
        let log10M = logEValue / log(10.0), log10Threshold = logThreshold / log(10.0)
        let lead = failedBy ?? leadingClass, bet = bets[lead.rawValue]
        // The failure is sticky, and later evidence may lower M below 1/α: then say that it reached 1/α.
        let standing =
            failed && logEValue < logThreshold
            ? "e-value reached 10^\(Format.fixed(log10Threshold, 2)) = 1/α (now 10^\(Format.fixed(log10M, 2))), "
            : "e-value 10^\(Format.fixed(log10M, 2)) \(failed ? "≥" : "<") 10^\(Format.fixed(log10Threshold, 2)) = 1/α, "
        let summary =
            standing
            + "led by \(lead.label) (canary \(bet.canaryBad) vs primary \(bet.primaryBad) over \(bet.episodes) episodes; "
            + "canary \(canaryRequests) / primary \(primaryRequests) requests)"
        var evidence: [Verdict.Evidence] = [
            .init("log10-e-value", log10M), .init("e-value-threshold", 1 / alpha), .init("alpha", alpha),
            .init("canary-requests", Double(canaryRequests)), .init("primary-requests", Double(primaryRequests)),
        ]
        for c in OutcomeClass.allCases {
            let b = bets[c.rawValue]
            evidence += [
                .init("log10-e-value-\(c.label)", b.logEValue / log(10.0)), .init("alpha-\(c.label)", alpha * Self.weights[c]!),
                .init("canary-\(c.label)", Double(b.canaryBad)), .init("primary-\(c.label)", Double(b.primaryBad)),
                .init("episodes-\(c.label)", Double(b.episodes)),
            ]
        }
        return Verdict(judge: "sequential", outcome: failed ? .fail : .pass, summary: summary, evidence: evidence)
    }
}

/// Built when `sequential.enabled`; the judge is its own memory (`sequential` in the state file), continued
/// only at the same α: the guarantee is for one α over the whole rollout.
extension SequentialJudge: Judge, JudgeMemory {
    public static let key = "sequential"

    public init(newRolloutUnder analysis: AnalysisConfig) {
        self.init(alpha: analysis.sequential.alpha)
    }

    public init?(configuredBy analysis: AnalysisConfig, continuing evidence: RolloutJudges.Evidence) {
        guard analysis.sequential.enabled else { return nil }
        self = evidence[SequentialJudge.self]
    }

    public func holds(under analysis: AnalysisConfig) -> Bool { alpha == analysis.sequential.alpha }

    public var name: String { "sequential" }
    public static var memoryType: (any JudgeMemory.Type)? { SequentialJudge.self }
    public var memory: (any JudgeMemory)? { self }

    public mutating func beginRollout(_ analysis: AnalysisConfig) {
        self = SequentialJudge(newRolloutUnder: analysis)
    }

    /// A failure is sticky: once failed, every tick answers it again.
    public mutating func observeTick(_ tick: JudgeTick) -> Verdict? {
        update(canary: tick.canaryOutcomes, primary: tick.primaryOutcomes) ? verdict : nil
    }

    /// Its standing: it never holds nor passes a canary on absence of evidence, it only vetoes.
    public mutating func analyseInterval(_ interval: inout JudgeInterval) -> [Verdict] { [verdict] }

    /// A failed judge forbids going further whatever the other judges say.
    public var forbidsAdvance: Bool { failed }
}

extension RolloutJudges.Evidence {
    /// The sequential judge's evidence, kept (and shown) whether or not the judge is enabled.
    public var sequential: SequentialJudge { self[SequentialJudge.self] }
}
