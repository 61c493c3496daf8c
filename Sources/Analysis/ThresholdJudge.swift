// Judge 1: Flagger-compatible thresholds on the canary's interval (success rate in %, duration quantile in ms).

import Config
import Telemetry

/// Judge 1 (docs/JUDGES.md): each configured check of the canary's interval delta
/// against its `thresholdRange`, exactly as Flagger reads them.
///
/// - `request-success-rate` = 100 × (n − failures) / n, in percent.
/// - `request-duration` = the check's quantile (default 0.99) of the interval's latency
///   histogram, in milliseconds. The histogram is log-linear (`LatencyBuckets`): the quantile is
///   found at the exact nearest rank and reported as its bucket's midpoint, within 0.78 % of the
///   true sample quantile from 1 µs to 60 s (the histograms promise ≤ 3 %); beyond 60 s it is a
///   lower bound (60 129.5 ms).
/// - A value passes when `min ≤ value ≤ max` (each bound optional, inclusive, as in Flagger).
/// - Fewer than `minRequests` canary responses (or none at all) → every verdict is *no data*: the
///   check neither passes nor fails and the controller holds the weight (until `progressDeadline`).
///
/// Verdict judges are the check names, `request-success-rate` and `request-duration`.
public struct ThresholdJudge {
    /// One verdict per check, in the order of `checks`.
    public static func evaluate(canary: ArmWindow, checks: [MetricCheckConfig], minRequests: Int) -> [Verdict] {
        checks.map { evaluate(canary: canary, check: $0, minRequests: minRequests) }
    }

    /// The verdict of one check.
    public static func evaluate(canary: ArmWindow, check: MetricCheckConfig, minRequests: Int) -> Verdict {
        let required = UInt64(max(minRequests, 1))
        guard canary.n >= required else {
            return Verdict(
                judge: check.name.rawValue, outcome: .noData,
                summary: "\(label(check)): no data, \(canary.n) canary requests < \(required) required",
                evidence: [.init("requests", Double(canary.n)), .init("min-requests", Double(required))] + bounds(check))
        }
        switch check.name {
        case .requestSuccessRate:
            let rate = 100 * Double(canary.successes) / Double(canary.n)
            return verdict(
                check, value: rate, unit: "%",
                evidence: [
                    .init("success-rate", rate), .init("requests", Double(canary.n)),
                    .init("failures", Double(canary.failures)),
                ], n: canary.n)
        case .requestDuration:
            guard let seconds = canary.histogram.quantile(check.quantile) else {
                return Verdict(
                    judge: check.name.rawValue, outcome: .noData,
                    summary: "\(label(check)): no data, the latency histogram is empty",
                    evidence: [.init("requests", Double(canary.n)), .init("quantile", check.quantile)] + bounds(check))
            }
            let milliseconds = seconds * 1000
            return verdict(
                check, value: milliseconds, unit: " ms",
                evidence: [
                    .init("duration-ms", milliseconds), .init("quantile", check.quantile),
                    .init("requests", Double(canary.histogram.count)),
                ], n: canary.histogram.count)
        }
    }

    /// Pass or fail of a measured value against the check's range.
    private static func verdict(
        _ check: MetricCheckConfig, value: Double, unit: String, evidence: [Verdict.Evidence], n: UInt64
    ) -> Verdict {
        let shown = Format.short(value) + unit
        let sentence: String
        let outcome: Verdict.Outcome
        if let low = check.min, value < low {
            outcome = .fail
            sentence = "\(shown) < \(Format.trimmed(low))\(unit)"
        } else if let high = check.max, value > high {
            outcome = .fail
            sentence = "\(shown) > \(Format.trimmed(high))\(unit)"
        } else {
            outcome = .pass
            var parts: [String] = []
            if let low = check.min { parts.append("≥ \(Format.trimmed(low))\(unit)") }
            if let high = check.max { parts.append("≤ \(Format.trimmed(high))\(unit)") }
            sentence = parts.isEmpty ? "\(shown) (no bounds)" : "\(shown) " + parts.joined(separator: " and ")
        }
        return Verdict(
            judge: check.name.rawValue, outcome: outcome,
            summary: "\(label(check)) \(sentence) (n=\(n))",
            evidence: evidence + bounds(check))
    }

    /// The configured bounds as evidence.
    private static func bounds(_ check: MetricCheckConfig) -> [Verdict.Evidence] {
        var result: [Verdict.Evidence] = []
        if let low = check.min { result.append(.init("min", low)) }
        if let high = check.max { result.append(.init("max", high)) }
        return result
    }

    /// "success rate" or "p99 duration" (the quantile as a percentile).
    private static func label(_ check: MetricCheckConfig) -> String {
        switch check.name {
        case .requestSuccessRate: return "success rate"
        case .requestDuration:
            return "p\(Format.fixed(check.quantile * 100, check.quantile * 100 == (check.quantile * 100).rounded() ? 0 : 1)) duration"
        }
    }
}

/// Built when `metrics` lists a check; judges intervals only.
extension ThresholdJudge: Judge {
    public init?(configuredBy analysis: AnalysisConfig, continuing evidence: RolloutJudges.Evidence) {
        if analysis.metrics.isEmpty { return nil }
    }

    public var name: String { "thresholds" }

    public mutating func analyseInterval(_ interval: inout JudgeInterval) -> [Verdict] {
        Self.evaluate(canary: interval.canary, checks: interval.analysis.metrics, minRequests: interval.analysis.minRequests)
    }
}
