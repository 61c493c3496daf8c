// The judges' settings: `metrics` thresholds, the `comparison` with the primary and the `sequential` test.
import Config
import Testing

@Suite struct JudgeSettingsTests {
    @Test func metricRangesAndQuantiles() throws {
        let a = try analysis(
            """
            metrics:
              - { name: request-success-rate, thresholdRange: { min: 0, max: 100 } }
              - { name: request-duration, thresholdRange: { min: 0.001 }, quantile: 0.001 }
              - { name: request-duration, thresholdRange: { max: 250 }, quantile: 0.999 }
            """)
        var fast = MetricCheckConfig(name: .requestDuration, min: 0.001)
        fast.quantile = 0.001
        var tail = MetricCheckConfig(name: .requestDuration, max: 250)
        tail.quantile = 0.999
        #expect(a.metrics == [MetricCheckConfig(name: .requestSuccessRate, min: 0, max: 100), fast, tail])
        #expect(try analysis("metrics: []").metrics == [])
    }

    @Test func metricProblems() {
        #expect(
            problems(
                withAnalysis(
                    """
                    metrics:
                      - name: error-rate
                        thresholdRange: { max: 1 }
                      - name: request-success-rate
                        thresholdRange: {}
                      - name: request-success-rate
                        thresholdRange: { min: 101, max: -1 }
                      - name: request-duration
                        thresholdRange: { max: 0 }
                      - name: request-duration
                        thresholdRange: { min: 600, max: 500 }
                      - name: request-success-rate
                        thresholdRange: { min: 99 }
                        quantile: 0.5
                      - name: request-duration
                        thresholdRange: { max: 500 }
                        quantile: 1
                      - name: request-duration
                        thresholdRange: { max: .inf }
                        quantile: 0
                      - name: request-duration
                        thresholdRange: { max: ninety }
                      - thresholdRange: { max: 1 }
                      - name: request-duration
                    """)) == [
                    #"routes[0].analysis.metrics[0].name: "error-rate" is not a metric; use request-success-rate or request-duration (line 12)"#,
                    "routes[0].analysis.metrics[1].thresholdRange: needs min, max or both (line 15)",
                    "routes[0].analysis.metrics[2].thresholdRange.min: 101 is not in 0...100 (line 17)",
                    "routes[0].analysis.metrics[2].thresholdRange.max: -1 is not in 0...100 (line 17)",
                    "routes[0].analysis.metrics[3].thresholdRange.max: 0 must be greater than 0 (line 19)",
                    "routes[0].analysis.metrics[4].thresholdRange.max: 500 is less than min 600 (line 21)",
                    "routes[0].analysis.metrics[5].quantile: applies only to request-duration (line 24)",
                    "routes[0].analysis.metrics[6].quantile: 1 must be greater than 0 and less than 1 (line 27)",
                    #"routes[0].analysis.metrics[7].thresholdRange.max: expected a number greater than 0, found ".inf" (line 29)"#,
                    "routes[0].analysis.metrics[7].quantile: 0 must be greater than 0 and less than 1 (line 30)",
                    #"routes[0].analysis.metrics[8].thresholdRange.max: expected a number greater than 0, found "ninety" (line 32)"#,
                    "routes[0].analysis.metrics[9].name: required (line 33)",
                    "routes[0].analysis.metrics[10].thresholdRange: required (line 34)",
                ])
    }

    @Test func theSameCheckTwiceIsADuplicate() {
        #expect(
            problems(
                withAnalysis(
                    """
                    metrics:
                      - { name: request-success-rate, thresholdRange: { min: 99 } }
                      - { name: request-duration, thresholdRange: { max: 500 } }
                      - { name: request-duration, thresholdRange: { max: 100 }, quantile: 0.5 }
                      - { name: request-success-rate, thresholdRange: { min: 95 } }
                      - { name: request-duration, thresholdRange: { max: 900 }, quantile: 0.99 }
                    """)) == [
                    "routes[0].analysis.metrics[3]: duplicates routes[0].analysis.metrics[0] (line 15)",
                    "routes[0].analysis.metrics[4]: duplicates routes[0].analysis.metrics[1] (line 16)",
                ])
    }

    @Test func comparisonBounds() throws {
        let edge = try analysis(
            "comparison: { alpha: 0.000001, allowedErrorRateIncrease: 100, allowedSlowdown: 0.99, maxLatencyRatio: 10 }")
        #expect(edge.comparison.alpha == 0.000001)
        #expect(edge.comparison.allowedErrorRateIncrease == 100)
        #expect(edge.comparison.allowedSlowdown == 0.99)
        #expect(edge.comparison.maxLatencyRatio == 10)
        #expect(edge.comparison.enabled)
        #expect(try analysis("comparison: { enabled: false }").comparison.enabled == false)
        #expect(
            problems(
                withAnalysis(
                    """
                    comparison:
                      enabled: off
                      alpha: 0
                      allowedErrorRateIncrease: -0.5
                      allowedSlowdown: 1
                      maxLatencyRatio: 0.9
                    """)) == [
                    #"routes[0].analysis.comparison.enabled: expected true or false, found "off" (line 12)"#,
                    "routes[0].analysis.comparison.alpha: 0 must be greater than 0 and at most 0.5 (line 13)",
                    "routes[0].analysis.comparison.allowedErrorRateIncrease: -0.5 is not in 0...100 (line 14)",
                    "routes[0].analysis.comparison.allowedSlowdown: 1 must be at least 0.5 and less than 1 (line 15)",
                    "routes[0].analysis.comparison.maxLatencyRatio: 0.9 must be at least 1 (line 16)",
                ])
        #expect(
            problems(withAnalysis("comparison: { alpha: 0.51, allowedSlowdown: 0.49 }")) == [
                "routes[0].analysis.comparison.alpha: 0.51 must be greater than 0 and at most 0.5 (line 11)",
                "routes[0].analysis.comparison.allowedSlowdown: 0.49 must be at least 0.5 and less than 1 (line 11)",
            ])
        #expect(
            problems(withAnalysis("comparison: { alpha: 5% }")) == [
                #"routes[0].analysis.comparison.alpha: expected a number greater than 0 and at most 0.5, found "5%" (line 11)"#
            ])
    }

    @Test func sequentialSettings() throws {
        let a = try analysis("sequential: { enabled: true, alpha: 0.5, slowThreshold: 1s }")
        #expect(a.sequential.alpha == 0.5)
        #expect(a.sequential.slowThreshold == .fixed(.seconds(1)))
        #expect(try analysis("sequential: { slowThreshold: primaryP99 }").sequential.slowThreshold == .primaryP99)
        #expect(
            problems(
                withAnalysis(
                    """
                    sequential:
                      enabled: 1
                      alpha: 0.6
                      slowThreshold: primaryP50
                    """)) == [
                    #"routes[0].analysis.sequential.enabled: expected true or false, found "1" (line 12)"#,
                    "routes[0].analysis.sequential.alpha: 0.6 must be greater than 0 and at most 0.5 (line 13)",
                    #"routes[0].analysis.sequential.slowThreshold: "primaryP50" is neither primaryP99 nor a duration like "250ms" (line 14)"#,
                ])
        #expect(
            problems(withAnalysis("sequential: { slowThreshold: 250 }")) == [
                #"routes[0].analysis.sequential.slowThreshold: "250" has no unit; use us, ms, s, m or h, like "250s" (line 11)"#
            ])
        #expect(
            problems(withAnalysis("sequential: { slowThreshold: [1s] }")) == [
                #"routes[0].analysis.sequential.slowThreshold: expected primaryP99 or a duration like "250ms" (line 11)"#
            ])
    }
}
