// An exec hook's environment: `env` (values) and `passEnv` (names inherited from the proxy, PATH by default).
import Config
import Testing

@Suite struct ExecHookEnvironmentTests {
    @Test func nothingWrittenPassesOnlyPath() throws {
        let hook = try analysis("webhooks:\n  - { name: h, type: promote, command: [/bin/deploy] }").webhooks[0]
        #expect(hook.environment == [:])
        #expect(hook.passEnvironment == ["PATH"])
    }

    @Test func envAndPassEnvAreRead() throws {
        let hook = try analysis(
            """
            webhooks:
              - name: deploy
                type: promote
                command: [/bin/deploy]
                env: { DEPLOY_ENV: prod, replicas: 3, _x: "" }
                passEnv: [PATH, HOME, LANG]
            """
        ).webhooks[0]
        #expect(hook.environment == ["DEPLOY_ENV": "prod", "replicas": "3", "_x": ""])
        #expect(hook.passEnvironment == ["PATH", "HOME", "LANG"])
        let none = try analysis("webhooks:\n  - { name: h, type: promote, command: [/bin/deploy], passEnv: [] }").webhooks[0]
        #expect(none.passEnvironment == [])
    }

    @Test(arguments: [
        ("env: [A]", "env: expected a mapping of variable names to values"),
        ("env: { 1X: a }", #"env.1X: "1X" is not a variable name (letters, digits and _, not starting with a digit)"#),
        (#"env: { "A-B": a }"#, #"env.A-B: "A-B" is not a variable name (letters, digits and _, not starting with a digit)"#),
        ("env: { CANARYGATE_ROUTE: x }", "env.CANARYGATE_ROUTE: CANARYGATE_ names are set by the proxy (the rollout's facts)"),
        ("env: { A: [x] }", "env.A: expected a string"),
        (#"env: { A: "a\0b" }"#, "env.A: a value cannot hold a NUL character"),
        ("passEnv: PATH", "passEnv: expected a list"),
        ("passEnv: [\"A=B\"]", #"passEnv[0]: "A=B" is not a variable name (letters, digits and _, not starting with a digit)"#),
    ])
    func oneBadField(field: String, message: String) {
        let yaml = withAnalysis("webhooks:\n  - name: deploy\n    type: promote\n    command: [/bin/deploy]\n    \(field)")
        #expect(problems(yaml) == ["routes[0].analysis.webhooks[0].\(message) (line 15)"])
    }

    @Test func aWebhookHasNoEnvironment() {
        #expect(
            problems(
                withAnalysis(
                    """
                    webhooks:
                      - name: page
                        type: rollback
                        url: http://127.0.0.1:8080/hook
                        env: { A: b }
                        passEnv: [HOME]
                    """)) == [
                    "routes[0].analysis.webhooks[0].env: applies to a command only; a webhook has no environment (line 15)",
                    "routes[0].analysis.webhooks[0].passEnv: applies to a command only; a webhook has no environment (line 16)",
                ])
    }
}
