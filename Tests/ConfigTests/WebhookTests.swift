// `analysis.webhooks`: Flagger's types, url or command, timeout, retries, metadata, unique names.
import Config
import Testing

@Suite struct WebhookTests {
    @Test func everyHookTypeIsAccepted() throws {
        for type in HookType.allCases {
            let hooks = try analysis("""
                webhooks:
                  - { name: h, type: \(type.rawValue), command: [/bin/true] }
                """).webhooks
            #expect(hooks == [HookConfig(name: "h", type: type, action: .exec(command: ["/bin/true"]))])
        }
    }

    @Test func defaultsAndBounds() throws {
        let hooks = try analysis("""
            webhooks:
              - { name: a, type: rollback, url: "http://[::1]:8080", retries: 0 }
              - { name: b, type: event, url: http://hooks.internal/events?route=web, retries: 10, metadata: {} }
            """).webhooks
        #expect(hooks[0].timeout == .seconds(10))
        #expect(hooks[0].retries == 0)
        #expect(hooks[0].metadata == [:])
        #expect(hooks[0].action == .webhook(url: "http://[::1]:8080"))
        #expect(hooks[1].retries == 10)
        #expect(hooks[1].action == .webhook(url: "http://hooks.internal/events?route=web"))
        #expect(try analysis("webhooks: []").webhooks == [])
    }

    @Test func unknownTypesNameTheValidOnes() {
        #expect(problems(withAnalysis("webhooks:\n  - { name: a, type: pre-promote, url: http://h/ }")) == [
            #"routes[0].analysis.webhooks[0].type: "pre-promote" is not a webhook type; use one of confirm-rollout, pre-rollout, rollout, confirm-traffic-increase, confirm-promotion, promote, post-rollout, rollback, event (line 12)"#,
        ])
    }

    @Test func exactlyOneOfUrlAndCommand() {
        #expect(problems(withAnalysis("""
            webhooks:
              - name: both
                type: promote
                url: http://127.0.0.1:8080/hook
                command: [/bin/deploy]
              - name: neither
                type: promote
                timeout: 5s
            """)) == [
                "routes[0].analysis.webhooks[0].command: cannot be combined with url; write one of them (line 15)",
                "routes[0].analysis.webhooks[1]: needs a url or a command (line 16)",
            ])
    }

    @Test(arguments: [
        ("url: https://example.com/hook", #"url: "https://example.com/hook": https is not supported yet; use an http:// URL"#),
        ("url: HTTPS://example.com/hook", #"url: "HTTPS://example.com/hook": https is not supported yet; use an http:// URL"#),
        ("url: ftp://example.com/", #"url: "ftp://example.com/" must start with "http://""#),
        ("url: 127.0.0.1:8080/hook", #"url: "127.0.0.1:8080/hook" must start with "http://""#),
        ("url: http:///hook", #"url: "http:///hook" has no host"#),
        (#"url: "http://h/a b""#, #"url: "http://h/a b" may contain only visible ASCII characters, no spaces"#),
        ("url: [http://h/]", #"url: expected a string like "http://127.0.0.1:8080/hook""#),
        ("command: []", "command: needs at least one entry"),
        ("command: /bin/deploy", "command: expected a list"),
        (#"command: [""]"#, "command[0]: must not be empty"),
        ("command: [[a]]", "command[0]: expected a string"),
        ("timeout: 0s", #"timeout: "0s" must be greater than 0"#),
        ("retries: 11", "retries: 11 is not in 0...10"),
        ("retries: -1", "retries: -1 is not in 0...10"),
        ("metadata: [env]", "metadata: expected a mapping"),
        ("metadata: { env: [prod] }", "metadata.env: expected a string"),
        ("metadata: { env: }", "metadata.env: expected a string"),
    ])
    func oneBadField(field: String, message: String) {
        // Fields other than url and command get a url beside them, so that only `field` is wrong.
        let action = field.hasPrefix("url:") || field.hasPrefix("command:") ? "" : "\n    url: http://127.0.0.1:8080/"
        let yaml = withAnalysis("webhooks:\n  - name: smoke\n    type: pre-rollout\n    \(field)" + action)
        #expect(problems(yaml) == ["routes[0].analysis.webhooks[0].\(message) (line 14)"])
    }

    @Test func namesAreRequiredAndUniquePerRoute() {
        #expect(problems(withAnalysis("""
            webhooks:
              - { name: smoke, type: pre-rollout, url: http://h/ }
              - { name: smoke, type: rollout, url: http://h/ }
              - { name: "", type: rollout, url: http://h/ }
              - { type: rollout, url: http://h/ }
            """)) == [
                #"routes[0].analysis.webhooks[1].name: "smoke" duplicates routes[0].analysis.webhooks[0].name (line 13)"#,
                "routes[0].analysis.webhooks[2].name: must not be empty (line 14)",
                "routes[0].analysis.webhooks[3].name: required (line 15)",
            ])
        // Another route may reuse a name.
        #expect(problems("""
            listeners: [{ name: http, address: 0.0.0.0:8080 }]
            routes:
              - name: a
                match: { pathPrefix: /a }
                primary: { revision: v1, endpoints: ["127.0.0.1:9001"] }
                canary: { revision: v2, endpoints: ["127.0.0.1:9002"] }
                analysis: { webhooks: [{ name: smoke, type: event, url: http://h/ }] }
              - name: b
                primary: { revision: v1, endpoints: ["127.0.0.1:9001"] }
                canary: { revision: v2, endpoints: ["127.0.0.1:9002"] }
                analysis: { webhooks: [{ name: smoke, type: event, url: http://h/ }] }
            """) == [])
    }
}
