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
        let route = try ConfigLoader.parse(
            config(
                "outlierDetection: { consecutiveFailures: 3, baseEjectionTime: 500ms, maxEjectionTime: 1m, maxEjectedPercent: 30 }",
                "retries: { attempts: 2, budgetPercent: 10, minRetriesPerSecond: 0 }")
        ).routes[0]
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
        #expect(
            problems(config("outlierDetection: { consecutiveFailures: -1 }")) == [
                "routes[0].outlierDetection.consecutiveFailures: -1 is not in 0...1000 (line 9)"
            ])
        #expect(
            problems(config("outlierDetection: { maxEjectedPercent: 101 }")) == [
                "routes[0].outlierDetection.maxEjectedPercent: 101 is not in 0...100 (line 9)"
            ])
        #expect(
            problems(config("outlierDetection: { baseEjectionTime: 1ms }")) == [
                "routes[0].outlierDetection.baseEjectionTime: \"1ms\" is shorter than 10ms (line 9)"
            ])
        #expect(
            problems(config("outlierDetection:", "  baseEjectionTime: 1m", "  maxEjectionTime: 30s")) == [
                "routes[0].outlierDetection.maxEjectionTime: must not be shorter than baseEjectionTime (line 11)"
            ])
        #expect(problems(config("retries: { attempts: 4 }")) == ["routes[0].retries.attempts: 4 is not in 0...3 (line 9)"])
        #expect(problems(config("retries: { tries: 1 }")) == ["routes[0].retries.tries: unknown key (line 9)"])
        #expect(problems(config("retries: 1")) == ["routes[0].retries: expected a mapping (line 9)"])
    }

    @Test func healthChecks() throws {
        #expect(try ConfigLoader.parse(minimalConfig).routes[0].healthCheck == nil)
        let http = try #require(try ConfigLoader.parse(config("healthCheck: { path: /healthz }")).routes[0].healthCheck)
        #expect(http.probe == .http(path: "/healthz"))
        #expect(http.interval == .seconds(5) && http.timeout == .seconds(1) && http.rise == 2 && http.fall == 3)
        let tcp = try #require(
            try ConfigLoader.parse(config("healthCheck: { tcp: true, interval: 2s, timeout: 500ms, rise: 1, fall: 5 }"))
                .routes[0].healthCheck)
        #expect(tcp.probe == .tcp)
        #expect(tcp.interval == .seconds(2) && tcp.timeout == .milliseconds(500) && tcp.rise == 1 && tcp.fall == 5)
    }

    @Test func healthCheckErrorsNameTheFieldAndLine() {
        #expect(problems(config("healthCheck: {}")) == ["routes[0].healthCheck.path: required unless tcp: true (line 9)"])
        #expect(
            problems(config("healthCheck: { path: /healthz, tcp: true }")) == [
                "routes[0].healthCheck.tcp: choose one of path (an HTTP check) and tcp: true (line 9)"
            ])
        #expect(
            problems(config("healthCheck: { tcp: false }")) == ["routes[0].healthCheck.tcp: false needs a path (an HTTP check) (line 9)"])
        #expect(
            problems(config("healthCheck: { path: healthz }")) == [
                "routes[0].healthCheck.path: \"healthz\" must start with \"/\" and hold no spaces or control characters (line 9)"
            ])
        #expect(
            problems(config("healthCheck:", "  path: /healthz", "  interval: 1s", "  timeout: 2s")) == [
                "routes[0].healthCheck.timeout: must not be longer than interval (line 12)"
            ])
        #expect(
            problems(config("healthCheck: { tcp: true, interval: 10ms }")) == [
                "routes[0].healthCheck.interval: \"10ms\" is shorter than 100ms (line 9)"
            ])
        #expect(problems(config("healthCheck: { tcp: true, rise: 0 }")) == ["routes[0].healthCheck.rise: 0 is not in 1...100 (line 9)"])
    }
}
