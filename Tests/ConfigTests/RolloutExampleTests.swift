// The rollout issue's example config is accepted as written; every rollout key can be set; defaults hold.
import Config
import Testing

/// Kept identical to config/rollout.yaml (the README's example plus `admin` and `listeners`), which a test below checks.
let rolloutExample = """
    admin:
      address: 127.0.0.1:9901
    listeners:
      - name: http
        address: 0.0.0.0:8080
    state:
      path: /var/lib/canarygate/state.json
    routes:
      - name: web
        primary: { revision: v1, endpoints: ["127.0.0.1:9001"] }
        canary:  { revision: v2, endpoints: ["127.0.0.1:9002"] }
        analysis:
          interval: 1s          # any duration >= 100ms (tests need short ones)
          threshold: 2          # failed checks before rollback
          stepWeight: 25        # or stepWeights: [5, 10, 25, 50]
          maxWeight: 50
          minRequests: 10       # canary requests per interval for a check to count
          metrics:
            - name: request-success-rate
              thresholdRange: { min: 99 }      # percent
            - name: request-duration
              thresholdRange: { max: 500 }     # ms, p99 by default

    """

@Suite struct RolloutExampleTests {
    @Test func issueExampleHasExactlyItsValues() throws {
        let config = try ConfigLoader.parse(rolloutExample)
        var expected = CanarygateConfig()
        expected.listeners = [ListenerConfig(name: "http", address: HostPort(host: "0.0.0.0", port: 8080))]
        expected.state = StateConfig(path: "/var/lib/canarygate/state.json")
        var analysis = AnalysisConfig()
        analysis.interval = .seconds(1)
        analysis.threshold = 2
        analysis.stepWeight = 25
        analysis.maxWeight = 50
        analysis.minRequests = 10
        analysis.metrics = [
            MetricCheckConfig(name: .requestSuccessRate, min: 99),
            MetricCheckConfig(name: .requestDuration, max: 500),
        ]
        expected.routes = [
            RouteConfig(
                name: "web",
                match: MatchConfig(),
                primary: ArmConfig(revision: "v1", endpoints: [HostPort(host: "127.0.0.1", port: 9001)]),
                canary: CanaryConfig(
                    arm: ArmConfig(revision: "v2", endpoints: [HostPort(host: "127.0.0.1", port: 9002)]), weight: 0),
                analysis: analysis)
        ]
        #expect(config == expected)
        #expect(config.routes[0].analysis?.metrics[1].quantile == 0.99)
        #expect(config.routes[0].analysis?.stepWeights == [])
    }

    @Test func shippedRolloutFileIsTheIssueExample() throws {
        // #filePath is …/Tests/ConfigTests/RolloutExampleTests.swift; the file is …/config/rollout.yaml.
        let root = #filePath.split(separator: "/", omittingEmptySubsequences: false).dropLast(3).joined(separator: "/")
        let shipped = try ConfigLoader.load(path: root + "/config/rollout.yaml")
        #expect(shipped == (try ConfigLoader.parse(rolloutExample)))
    }

    @Test func everyRolloutKeyCanBeSet() throws {
        let config = try ConfigLoader.parse(
            """
            listeners: [{ name: http, address: 0.0.0.0:8080 }]
            state: { path: state.json }
            routes:
              - name: web
                primary: { revision: v1, endpoints: ["127.0.0.1:9001"] }
                canary:
                  revision: v2
                  endpoints: ["127.0.0.1:9002"]
                  weight: 30
                analysis:
                  interval: 100ms
                  threshold: 1
                  stepWeights: [5, 10, 25, 50]
                  stepWeightPromotion: 50
                  minRequests: 1
                  progressDeadline: 1m30s
                  skipAnalysis: TRUE
                  metrics:
                    - name: request-success-rate
                      thresholdRange: { min: 99.5, max: 100 }
                    - name: request-duration
                      thresholdRange: { max: 500 }
                      quantile: 0.99
                    - name: request-duration
                      thresholdRange: { min: 0.5, max: 1e2 }
                      quantile: 0.5
                  comparison: { enabled: false, alpha: 0.5, allowedErrorRateIncrease: 0, allowedSlowdown: 0.5, maxLatencyRatio: 1 }
                  sequential: { enabled: false, alpha: 0.001, slowThreshold: 250ms }
                  readiness: { http: "/healthz?deep=1", interval: 2s, timeout: 500ms }
                  webhooks:
                    - name: smoke
                      type: pre-rollout
                      url: http://127.0.0.1:8080/hook
                      timeout: 5s
                      retries: 2
                      metadata: { env: prod, replicas: 3 }
                    - name: deploy
                      type: promote
                      command: ["/usr/local/bin/deploy", "--revision", "v2"]
            """)
        #expect(config.state == StateConfig(path: "state.json"))
        let route = config.routes[0]
        // The static weight is kept as written; the controller ignores it for a managed route.
        #expect(route.canary?.weight == 30)
        let analysis = try #require(route.analysis)
        #expect(analysis.interval == .milliseconds(100))
        #expect(analysis.threshold == 1)
        #expect(analysis.stepWeights == [5, 10, 25, 50])
        #expect(analysis.maxWeight == 50, "with stepWeights, maxWeight defaults to the last step")
        #expect(analysis.stepWeightPromotion == 50)
        // iterations cannot be written with the step keys: IterationsConfigTests.
        #expect(analysis.iterations == nil)
        #expect(analysis.minRequests == 1)
        #expect(analysis.progressDeadline == .seconds(90))
        #expect(analysis.skipAnalysis)
        var p50 = MetricCheckConfig(name: .requestDuration, min: 0.5, max: 100)
        p50.quantile = 0.5
        #expect(
            analysis.metrics == [
                MetricCheckConfig(name: .requestSuccessRate, min: 99.5, max: 100),
                MetricCheckConfig(name: .requestDuration, max: 500),
                p50,
            ])
        var comparison = ComparisonConfig()
        comparison.enabled = false
        comparison.alpha = 0.5
        comparison.allowedErrorRateIncrease = 0
        comparison.allowedSlowdown = 0.5
        comparison.maxLatencyRatio = 1
        #expect(analysis.comparison == comparison)
        var sequential = SequentialConfig()
        sequential.enabled = false
        sequential.alpha = 0.001
        sequential.slowThreshold = .fixed(.milliseconds(250))
        #expect(analysis.sequential == sequential)
        var readiness = ReadinessConfig()
        readiness.probe = .http(path: "/healthz?deep=1")
        readiness.interval = .seconds(2)
        readiness.timeout = .milliseconds(500)
        #expect(analysis.readiness == readiness)
        var smoke = HookConfig(name: "smoke", type: .preRollout, action: .webhook(url: "http://127.0.0.1:8080/hook"))
        smoke.timeout = .seconds(5)
        smoke.retries = 2
        smoke.metadata = ["env": "prod", "replicas": "3"]
        let deploy = HookConfig(
            name: "deploy", type: .promote,
            action: .exec(command: ["/usr/local/bin/deploy", "--revision", "v2"]))
        #expect(analysis.webhooks == [smoke, deploy])
    }

    @Test func anEmptyAnalysisTakesTheDefaults() throws {
        #expect(try analysis("{}") == AnalysisConfig())
        let defaults = AnalysisConfig()
        #expect(defaults.interval == .seconds(60))
        #expect(defaults.threshold == 5)
        #expect(defaults.stepWeight == 10)
        #expect(defaults.maxWeight == 50)
        #expect(defaults.minRequests == 10)
        #expect(defaults.progressDeadline == .seconds(600))
        #expect(defaults.readiness.probe == .tcp)
        #expect(defaults.comparison.enabled && defaults.sequential.enabled)
        #expect(defaults.sequential.slowThreshold == .primaryP99)
    }

    @Test func noAnalysisAndNoStateByDefault() throws {
        let config = try ConfigLoader.parse(minimalConfig)
        #expect(config.state == nil)
        #expect(config.routes[0].analysis == nil)
        // `analysis:` with nothing after it is absent, like every other key.
        #expect(
            try ConfigLoader.parse(minimalConfig + "    canary: { revision: v2, endpoints: [\"127.0.0.1:9002\"] }\n    analysis:\n")
                .routes[0].analysis == nil)
    }

    /// The first rollout brief's example also wrote `iterations: 10`, which then analysed the canary at
    /// maxWeight; since A/B and blue/green it means weight 0 and cannot be combined with the step keys, which
    /// `IterationsConfigTests` checks. The rest of the example is accepted as written.
    @Test func theBriefsFullExampleIsAcceptedWithEitherStepSetting() throws {
        let full = """
            interval: 1s
            threshold: 2
            STEPS
            maxWeight: 50
            stepWeightPromotion: 50
            minRequests: 10
            progressDeadline: 60s
            skipAnalysis: false
            metrics:
              - name: request-success-rate
                thresholdRange: { min: 99 }
              - name: request-duration
                thresholdRange: { max: 500 }
                quantile: 0.99
            comparison: { enabled: true, alpha: 0.01, allowedErrorRateIncrease: 1, allowedSlowdown: 0.6, maxLatencyRatio: 1.2 }
            sequential: { enabled: true, alpha: 0.01, slowThreshold: primaryP99 }
            readiness: { tcp: true }
            webhooks:
              - name: smoke
                type: pre-rollout
                url: http://127.0.0.1:8080/hook
            """
        let stepped = try analysis(full.replacingOccurrences(of: "STEPS", with: "stepWeight: 25"))
        #expect(stepped.stepWeight == 25 && stepped.stepWeights == [])
        let listed = try analysis(full.replacingOccurrences(of: "STEPS", with: "stepWeights: [5, 10, 25, 50]"))
        #expect(listed.stepWeights == [5, 10, 25, 50] && listed.maxWeight == 50)
        #expect(listed.comparison == ComparisonConfig() && listed.sequential == SequentialConfig())
        #expect(listed.readiness == ReadinessConfig())
        #expect(listed.progressDeadline == .seconds(60) && !listed.skipAnalysis)
    }
}
