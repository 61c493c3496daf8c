// Decodes a route's `analysis` section: Flagger's schedule (interval, steps, weights, deadlines) and its parts.

extension AnalysisConfig {
    /// Shorter intervals would measure too few requests to judge; tests use 100ms–1s.
    static let minimumInterval = Duration.milliseconds(100)
    /// Intervals of `iterations`; more would keep a canary unpromoted for longer than anyone watches it.
    static let maximumIterations = 1000

    static func decode(_ node: ConfigNode) -> AnalysisConfig? {
        node.mapping { m in
            var analysis = AnalysisConfig()
            analysis.interval =
                m.optional("interval") { $0.duration(atLeast: minimumInterval, written: "100ms") }
                ?? analysis.interval
            analysis.threshold = m.optional("threshold") { $0.integer(atLeast: 1) } ?? analysis.threshold
            if let steps = Steps.decode(&m) {
                analysis.stepWeight = steps.stepWeight ?? analysis.stepWeight
                analysis.stepWeights = steps.stepWeights
                analysis.maxWeight = steps.maxWeight
            }
            analysis.stepWeightPromotion = m.optional("stepWeightPromotion") { $0.integer(in: 1...100) }
            analysis.stepWeightRollback = m.optional("stepWeightRollback") { $0.integer(in: 0...100) } ?? analysis.stepWeightRollback
            analysis.iterations = m.optional("iterations") { node in
                guard let n = node.integer(atLeast: 1) else { return nil }
                if n > maximumIterations { node.report("\(n) is more than \(maximumIterations)") }
                return n > maximumIterations ? nil : n
            }
            refuseWeightStepsWithIterations(m)
            analysis.minRequests = m.optional("minRequests") { $0.integer(atLeast: 1) } ?? analysis.minRequests
            analysis.minClients = m.optional("minClients") { $0.integer(atLeast: 1) } ?? analysis.minClients
            analysis.progressDeadline = m.optional("progressDeadline") { $0.duration() } ?? analysis.progressDeadline
            analysis.skipAnalysis = m.optional("skipAnalysis") { $0.boolean() } ?? analysis.skipAnalysis
            analysis.requireEvidence = m.optional("requireEvidence") { $0.boolean() } ?? analysis.requireEvidence
            analysis.pace = m.optional("pace") { $0.oneOf(Pace.self, noun: "pace") } ?? analysis.pace
            analysis.minDwell = m.optional("minDwell") { $0.duration(atLeast: minimumInterval, written: "100ms") } ?? analysis.minDwell
            analysis.rollbackWindow = m.optional("rollbackWindow") { $0.duration() } ?? analysis.rollbackWindow
            analysis.watch = m.optional("watch") { $0.duration() } ?? analysis.watch
            // The watch judges a window one interval after it opens: a shorter watch ends first and would
            // report a pass with nothing judged.
            if analysis.watch > .zero && analysis.watch < analysis.interval {
                m.report("watch", "is shorter than analysis.interval: the watch would end before judging one interval")
            }
            analysis.metrics = m.optional("metrics", MetricCheckConfig.decodeList) ?? analysis.metrics
            analysis.comparison = m.optional("comparison", ComparisonConfig.decode) ?? analysis.comparison
            analysis.sequential = m.optional("sequential", SequentialConfig.decode) ?? analysis.sequential
            analysis.readiness = m.optional("readiness", ReadinessConfig.decode) ?? analysis.readiness
            analysis.webhooks = m.optional("webhooks", HookConfig.decodeList) ?? analysis.webhooks
            return analysis
        }
    }

    /// The weight keys that `iterations` makes meaningless: it holds the canary at weight 0 for its intervals and
    /// then switches all traffic at once, and rolls back in one switch. Refused rather than ignored, because
    /// before A/B and blue/green `iterations` analysed the canary at `maxWeight`: such a config must not
    /// silently change meaning.
    static let weightKeysExcludedByIterations = ["stepWeight", "stepWeights", "maxWeight", "stepWeightPromotion", "stepWeightRollback"]

    private static func refuseWeightStepsWithIterations(_ m: MappingReader) {
        guard m.isWritten("iterations") else { return }
        for key in weightKeysExcludedByIterations where m.isWritten(key) {
            m.report(key, "cannot be combined with iterations (A/B or blue/green: weight 0, then all traffic at once)")
        }
    }

    /// `stepWeight` or `stepWeights` (never both) and the `maxWeight` they climb to.
    private struct Steps {
        var stepWeight: Int?
        var stepWeights: [Int]
        var maxWeight: Int

        /// `nil` after reporting a problem; the keys are read either way.
        static func decode(_ m: inout MappingReader) -> Steps? {
            let problemsBefore = m.mapping.log.count
            let stepWeight = m.optional("stepWeight") { $0.integer(in: 1...100) }
            let stepWeights =
                m.optional("stepWeights") { node in
                    node.list(atLeastOne: true) { element in element.integer(in: 1...100).map { (weight: $0, node: element) } }
                } ?? []
            let maxWeight = m.optional("maxWeight") { $0.integer(in: 1...100) }
            if m.isWritten("stepWeight") && m.isWritten("stepWeights") {
                m.report("stepWeights", "cannot be combined with stepWeight; write one of them")
            }
            for (previous, step) in zip(stepWeights, stepWeights.dropFirst()) where step.weight <= previous.weight {
                step.node.report("\(step.weight) is not greater than the step before it, \(previous.weight)")
            }
            // maxWeight defaults to the last step with stepWeights, else to AnalysisConfig's default.
            let resolvedMax = maxWeight ?? stepWeights.last?.weight ?? AnalysisConfig().maxWeight
            if let maxWeight {
                for step in stepWeights where step.weight > maxWeight {
                    step.node.report("\(step.weight) is greater than maxWeight \(maxWeight)")
                }
            }
            // An invalid maxWeight is reported already; comparing with a default would mislead.
            if let stepWeight, stepWeight > resolvedMax, stepWeights.isEmpty, maxWeight != nil || !m.isWritten("maxWeight") {
                let shown = maxWeight == nil ? "maxWeight (\(resolvedMax) by default)" : "maxWeight \(resolvedMax)"
                m.mapping.log.report(
                    path: m.pathOf("stepWeight"), line: m.lineOf("stepWeight"),
                    "\(stepWeight) is greater than \(shown)")
            }
            guard m.mapping.log.count == problemsBefore else { return nil }
            return Steps(stepWeight: stepWeight, stepWeights: stepWeights.map(\.weight), maxWeight: resolvedMax)
        }
    }
}
