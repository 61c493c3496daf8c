// `analysis` schedule keys: interval, threshold, steps and maxWeight, promotion, iterations, deadlines.
import Config
import Testing

@Suite struct AnalysisScheduleTests {
    @Test func stepsAndWeights() throws {
        #expect(try analysis("stepWeight: 50\nmaxWeight: 50").stepWeight == 50)
        #expect(try analysis("stepWeight: 1\nmaxWeight: 1").maxWeight == 1)
        #expect(try analysis("stepWeight: 100\nmaxWeight: 100").maxWeight == 100)
        #expect(try analysis("stepWeights: [1, 100]").maxWeight == 100)
        #expect(try analysis("stepWeights: [20]").maxWeight == 20)
        let above = try analysis("stepWeights: [5, 10]\nmaxWeight: 60")
        #expect(above.stepWeights == [5, 10] && above.maxWeight == 60)
        #expect(try analysis("stepWeightPromotion: 1").stepWeightPromotion == 1)
        #expect(try analysis("stepWeightPromotion: 100").stepWeightPromotion == 100)
    }

    @Test func scheduleNumbers() throws {
        let a = try analysis("interval: 100ms\nthreshold: 1\niterations: 1\nminRequests: 1\nprogressDeadline: 1ms\nskipAnalysis: true")
        #expect(a.interval == .milliseconds(100))
        #expect(a.threshold == 1)
        #expect(a.iterations == 1)
        #expect(a.minRequests == 1)
        #expect(a.progressDeadline == .milliseconds(1))
        #expect(a.skipAnalysis)
        #expect(try analysis("skipAnalysis: False").skipAnalysis == false)
        #expect(try analysis("threshold: 1000000\nminRequests: 100000").threshold == 1_000_000)
    }

    @Test(arguments: [
        ("interval: 99ms", #"interval: "99ms" is shorter than 100ms"#),
        ("interval: 99999us", #"interval: "99999us" is shorter than 100ms"#),
        ("interval: 0s", #"interval: "0s" must be greater than 0"#),
        ("interval: [1s]", #"interval: expected a duration like "2s" or "500ms""#),
        ("threshold: 0", "threshold: 0 must be at least 1"),
        ("threshold: two", #"threshold: expected an integer of at least 1, found "two""#),
        ("threshold: {}", "threshold: expected an integer of at least 1"),
        ("stepWeight: 0", "stepWeight: 0 is not in 1...100"),
        ("stepWeight: 101", "stepWeight: 101 is not in 1...100"),
        ("stepWeight: 60", "stepWeight: 60 is greater than maxWeight (50 by default)"),
        ("stepWeights: []", "stepWeights: needs at least one entry"),
        ("stepWeights: 10", "stepWeights: expected a list"),
        ("stepWeights: [10, 10]", "stepWeights[1]: 10 is not greater than the step before it, 10"),
        ("maxWeight: 0", "maxWeight: 0 is not in 1...100"),
        ("maxWeight: 101", "maxWeight: 101 is not in 1...100"),
        ("stepWeightPromotion: 0", "stepWeightPromotion: 0 is not in 1...100"),
        ("stepWeightPromotion: 101", "stepWeightPromotion: 101 is not in 1...100"),
        ("iterations: 0", "iterations: 0 must be at least 1"),
        ("minRequests: 0", "minRequests: 0 must be at least 1"),
        ("minRequests: -5", "minRequests: -5 must be at least 1"),
        ("progressDeadline: 1.5m", #"progressDeadline: "1.5m": fractions are not supported; use a smaller unit, like "1500ms" for "1.5s""#),
        ("skipAnalysis: yes", #"skipAnalysis: expected true or false, found "yes""#),
        ("skipAnalysis: [true]", "skipAnalysis: expected true or false"),
        ("metrics: {}", "metrics: expected a list"),
        ("webhooks: smoke", "webhooks: expected a list"),
        ("comparison: true", "comparison: expected a mapping"),
        ("sequential: []", "sequential: expected a mapping"),
        ("readiness: /healthz", "readiness: expected a mapping"),
    ])
    func oneBadKey(body: String, message: String) {
        #expect(problems(withAnalysis(body)) == ["routes[0].analysis.\(message) (line 11)"])
    }

    @Test func stepWeightAndStepWeightsExcludeEachOther() {
        #expect(
            problems(
                withAnalysis(
                    """
                    stepWeight: 10
                    maxWeight: 50
                    stepWeights: [5, 10]
                    """)) == [
                    "routes[0].analysis.stepWeights: cannot be combined with stepWeight; write one of them (line 13)"
                ])
    }

    @Test func stepWeightsMustIncreaseAndStayWithinMaxWeight() {
        #expect(
            problems(
                withAnalysis(
                    """
                    stepWeights:
                      - 5
                      - 25
                      - 20
                      - 0
                      - 60
                    maxWeight: 50
                    """)) == [
                    "routes[0].analysis.stepWeights[2]: 20 is not greater than the step before it, 25 (line 14)",
                    "routes[0].analysis.stepWeights[3]: 0 is not in 1...100 (line 15)",
                    "routes[0].analysis.stepWeights[4]: 60 is greater than maxWeight 50 (line 16)",
                ])
    }

    @Test func stepWeightMustNotExceedMaxWeight() {
        #expect(
            problems(withAnalysis("stepWeight: 30\nmaxWeight: 20")) == [
                "routes[0].analysis.stepWeight: 30 is greater than maxWeight 20 (line 11)"
            ])
        // An invalid maxWeight is reported alone, not compared as if it were the default.
        #expect(
            problems(withAnalysis("stepWeight: 60\nmaxWeight: 200")) == [
                "routes[0].analysis.maxWeight: 200 is not in 1...100 (line 12)"
            ])
    }

    @Test func analysisRequiresACanary() {
        #expect(
            problems(
                minimalConfig + """
                        analysis:
                          interval: 1s
                    """) == ["routes[0].analysis: requires a canary (line 9)"])
        #expect(
            problems(minimalConfig + "    canary:\n    analysis: {}\n") == [
                "routes[0].analysis: requires a canary (line 10)"
            ])
        // An invalid canary is reported as such, not as missing.
        #expect(
            problems(minimalConfig + "    canary: { revision: v2 }\n    analysis: {}\n") == [
                "routes[0].canary.endpoints: required (line 9)"
            ])
    }

    @Test func unknownKeysInEverySection() {
        #expect(
            problems(
                withAnalysis(
                    """
                    intervall: 1s
                    metrics:
                      - name: request-success-rate
                        thresholdRange: { min: 99, mn: 98 }
                        treshold: 1
                    comparison: { beta: 0.2 }
                    sequential: { slow: 1s }
                    readiness: { path: /healthz }
                    webhooks:
                      - name: smoke
                        type: event
                        url: http://127.0.0.1:8080/
                        uri: http://127.0.0.1:8080/
                    """)) == [
                    "routes[0].analysis.intervall: unknown key (line 11)",
                    "routes[0].analysis.metrics[0].thresholdRange.mn: unknown key (line 14)",
                    "routes[0].analysis.metrics[0].treshold: unknown key (line 15)",
                    "routes[0].analysis.comparison.beta: unknown key (line 16)",
                    "routes[0].analysis.sequential.slow: unknown key (line 17)",
                    "routes[0].analysis.readiness.path: unknown key (line 18)",
                    "routes[0].analysis.webhooks[0].uri: unknown key (line 23)",
                ])
    }

    @Test func problemsAcrossSectionsAreReportedTogetherInFileOrder() {
        #expect(
            problems(
                withAnalysis(
                    """
                    interval: 10ms
                    threshold: 0
                    metrics:
                      - name: error-rate
                        thresholdRange: { max: 1 }
                    webhooks:
                      - name: smoke
                        type: pre-rollout
                        url: ftp://example.com/hook
                    """) + "state: { path: \"\" }\n") == [
                    #"routes[0].analysis.interval: "10ms" is shorter than 100ms (line 11)"#,
                    "routes[0].analysis.threshold: 0 must be at least 1 (line 12)",
                    #"routes[0].analysis.metrics[0].name: "error-rate" is not a metric; use request-success-rate or request-duration (line 14)"#,
                    #"routes[0].analysis.webhooks[0].url: must start with "http://" or "https://" (line 19)"#,
                    "state.path: must not be empty (line 20)",
                ])
    }
}
