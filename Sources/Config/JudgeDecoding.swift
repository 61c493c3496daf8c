// Decodes the judges' settings: Flagger's `metrics` thresholds, the `comparison` and the `sequential` test.

extension MetricCheckConfig {
    /// A request-duration check per quantile is fine (p50 and p99); the same check twice is a typo.
    static func decodeList(_ node: ConfigNode) -> [MetricCheckConfig]? {
        var checks = DuplicateCheck<String>()
        return node.list(atLeastOne: false) { item in
            item.mapping { m in
                let name = m.required("name") { $0.scalar(expected: "a string", parseName) }
                let range = m.required("thresholdRange") { node in
                    node.mapping { range in
                        let bounds = name.map(thresholdBounds) ?? .any
                        let min = range.optional("min") { $0.number(bounds) }
                        let max = range.optional("max") { $0.number(bounds) }
                        if !range.isWritten("min") && !range.isWritten("max") {
                            range.mapping.report("needs min, max or both")
                        }
                        if let min, let max, min > max {
                            range.report("max", "\(NumberBounds.format(max)) is less than min \(NumberBounds.format(min))")
                        }
                        return (min: min, max: max)
                    }
                }
                let quantile = m.optional("quantile") { $0.number(NumberBounds(lower: (0, false), upper: (1, false))) }
                if quantile != nil, name == .requestSuccessRate {
                    m.report("quantile", "applies only to request-duration")
                }
                guard let name, let range else { return nil }
                var check = MetricCheckConfig(name: name, min: range.min, max: range.max)
                check.quantile = quantile ?? check.quantile
                let key = name == .requestDuration ? "\(name.rawValue) \(check.quantile)" : name.rawValue
                return checks.claim(key, shown: nil, at: item).map { _ in check }
            }
        }
    }

    private static func parseName(_ text: String) throws(InvalidValue) -> Name {
        guard let name = Name(rawValue: text) else {
            throw InvalidValue("\(text.debugDescription) is not a metric; use request-success-rate or request-duration")
        }
        return name
    }

    /// Success rate in percent; duration in milliseconds, of which 0 would fail every request.
    private static func thresholdBounds(_ name: Name) -> NumberBounds {
        switch name {
        case .requestSuccessRate: .closed(0...100)
        case .requestDuration: NumberBounds(lower: (0, false))
        }
    }
}

/// Both tests' significance level, and the sequential test's false-rollback rate: above 0.5 a
/// "significant" difference would be a coin toss.
private let alphaBounds = NumberBounds(lower: (0, false), upper: (0.5, true))

extension ComparisonConfig {
    static func decode(_ node: ConfigNode) -> ComparisonConfig? {
        node.mapping { m in
            var comparison = ComparisonConfig()
            comparison.enabled = m.optional("enabled") { $0.boolean() } ?? comparison.enabled
            comparison.alpha = m.optional("alpha") { $0.number(alphaBounds) } ?? comparison.alpha
            comparison.allowedErrorRateIncrease =
                m.optional("allowedErrorRateIncrease") { $0.number(.closed(0...100)) } ?? comparison.allowedErrorRateIncrease
            // 0.5 is "no slowdown at all"; 1 would allow a canary slower on every request.
            comparison.allowedSlowdown =
                m.optional("allowedSlowdown") { $0.number(NumberBounds(lower: (0.5, true), upper: (1, false))) }
                ?? comparison.allowedSlowdown
            comparison.maxLatencyRatio =
                m.optional("maxLatencyRatio") { $0.number(NumberBounds(lower: (1, true))) } ?? comparison.maxLatencyRatio
            comparison.minLatencyIncrease =
                m.optional("minLatencyIncrease") { $0.duration(atLeast: .microseconds(1), written: "1us") } ?? comparison.minLatencyIncrease
            return comparison
        }
    }
}

extension SequentialConfig {
    static func decode(_ node: ConfigNode) -> SequentialConfig? {
        node.mapping { m in
            var sequential = SequentialConfig()
            sequential.enabled = m.optional("enabled") { $0.boolean() } ?? sequential.enabled
            sequential.alpha = m.optional("alpha") { $0.number(alphaBounds) } ?? sequential.alpha
            sequential.slowThreshold =
                m.optional("slowThreshold") { node in
                    node.scalar(expected: "primaryP99 or a duration like \"250ms\"", parseSlowThreshold)
                } ?? sequential.slowThreshold
            return sequential
        }
    }

    /// A text that starts like a number is a duration and gets the duration's own message.
    private static func parseSlowThreshold(_ text: String) throws(InvalidValue) -> SlowThreshold {
        if text == "primaryP99" { return .primaryP99 }
        guard let first = text.first, first.isASCIIDigit || first == "-" else {
            throw InvalidValue("\(text.debugDescription) is neither primaryP99 nor a duration like \"250ms\"")
        }
        return .fixed(try DurationSyntax.parse(text))
    }
}
