// A route's `outlierDetection` and `retries`: defaults, values, and errors with their field and line.
import Config
import Testing

@Suite struct ResilienceSettingsTests {
    /// `minimalConfig` with `lines` added to its route (line 9 onwards).
    private func config(_ lines: String...) -> String {
        minimalConfig + lines.map { "    " + $0 + "\n" }.joined()
    }

    @Test func defaults() throws {
        let route = try ConfigLoader.parse(minimalConfig).routes[0]
        #expect(route.outlierDetection == OutlierDetectionConfig())
        #expect(route.outlierDetection.consecutiveFailures == 5)
        #expect(route.outlierDetection.baseEjectionTime == .seconds(10))
        #expect(route.outlierDetection.maxEjectionTime == .seconds(300))
        #expect(route.outlierDetection.maxEjectedPercent == 50)
        #expect(route.retries == RetryConfig())
        #expect(route.retries.attempts == 1)
        #expect(route.retries.budgetPercent == 20)
        #expect(route.retries.minRetriesPerSecond == 3)
    }

    @Test func values() throws {
        let route = try ConfigLoader.parse(config(
            "outlierDetection: { consecutiveFailures: 3, baseEjectionTime: 500ms, maxEjectionTime: 1m, maxEjectedPercent: 30 }",
            "retries: { attempts: 2, budgetPercent: 10, minRetriesPerSecond: 0 }")).routes[0]
        #expect(route.outlierDetection.consecutiveFailures == 3)
        #expect(route.outlierDetection.baseEjectionTime == .milliseconds(500))
        #expect(route.outlierDetection.maxEjectionTime == .seconds(60))
        #expect(route.outlierDetection.maxEjectedPercent == 30)
        #expect(route.retries.attempts == 2)
        #expect(route.retries.budgetPercent == 10)
        #expect(route.retries.minRetriesPerSecond == 0)
    }

    @Test func zeroTurnsEjectionAndRetriesOff() throws {
        let route = try ConfigLoader.parse(config("outlierDetection: { consecutiveFailures: 0 }", "retries: { attempts: 0 }")).routes[0]
        #expect(route.outlierDetection.consecutiveFailures == 0)
        #expect(route.retries.attempts == 0)
    }

    @Test func errorsNameTheFieldAndLine() {
        #expect(problems(config("outlierDetection: { consecutiveFailures: -1 }")) == [
            "routes[0].outlierDetection.consecutiveFailures: -1 is not in 0...1000 (line 9)",
        ])
        #expect(problems(config("outlierDetection: { maxEjectedPercent: 101 }")) == [
            "routes[0].outlierDetection.maxEjectedPercent: 101 is not in 0...100 (line 9)",
        ])
        #expect(problems(config("outlierDetection: { baseEjectionTime: 1ms }")) == [
            "routes[0].outlierDetection.baseEjectionTime: \"1ms\" is shorter than 10ms (line 9)",
        ])
        #expect(problems(config("outlierDetection:", "  baseEjectionTime: 1m", "  maxEjectionTime: 30s")) == [
            "routes[0].outlierDetection.maxEjectionTime: must not be shorter than baseEjectionTime (line 11)",
        ])
        #expect(problems(config("retries: { attempts: 4 }")) == ["routes[0].retries.attempts: 4 is not in 0...3 (line 9)"])
        #expect(problems(config("retries: { tries: 1 }")) == ["routes[0].retries.tries: unknown key (line 9)"])
        #expect(problems(config("retries: 1")) == ["routes[0].retries: expected a mapping (line 9)"])
    }
}
