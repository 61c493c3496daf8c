// `analysis.webhooks`: Flagger's types, url or command, timeout, retries, metadata, unique names, headers and their secrets, caFile.
import Config
import Foundation
import Testing

@Suite struct WebhookTests {
    @Test func everyHookTypeIsAccepted() throws {
        for type in HookType.allCases {
            let hooks = try analysis(
                """
                webhooks:
                  - { name: h, type: \(type.rawValue), command: [/bin/true] }
                """
            ).webhooks
            #expect(hooks == [HookConfig(name: "h", type: type, action: .exec(command: ["/bin/true"]))])
        }
    }

    @Test func defaultsAndBounds() throws {
        let hooks = try analysis(
            """
            webhooks:
              - { name: a, type: rollback, url: "http://[::1]:8080", retries: 0 }
              - { name: b, type: event, url: http://hooks.internal/events?route=web, retries: 10, metadata: {} }
            """
        ).webhooks
        #expect(hooks[0].timeout == .seconds(10))
        #expect(hooks[0].retries == 0)
        #expect(hooks[0].metadata == [:])
        #expect(hooks[0].action == .webhook(url: "http://[::1]:8080"))
        #expect(hooks[1].retries == 10)
        #expect(hooks[1].action == .webhook(url: "http://hooks.internal/events?route=web"))
        #expect(try analysis("webhooks: []").webhooks == [])
    }

    @Test func unknownTypesNameTheValidOnes() {
        #expect(
            problems(withAnalysis("webhooks:\n  - { name: a, type: pre-promote, url: http://h/ }")) == [
                #"routes[0].analysis.webhooks[0].type: "pre-promote" is not a webhook type; use one of confirm-rollout, pre-rollout, rollout, confirm-traffic-increase, confirm-promotion, promote, post-rollout, rollback, event (line 12)"#
            ])
    }

    @Test func exactlyOneOfUrlAndCommand() {
        #expect(
            problems(
                withAnalysis(
                    """
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
        ("url: ftp://example.com/", #"url: must start with "http://" or "https://""#),
        ("url: 127.0.0.1:8080/hook", #"url: must start with "http://" or "https://""#),
        ("url: http:///hook", "url: has no host"),
        ("url: https://h:99999/?token=abc", "url: has an invalid port: not in 1...65535"),
        ("url: http://[::1/", #"url: has an invalid host: no "]" after an IPv6 address"#),
        (#"url: "http://h/a b""#, "url: may contain only visible ASCII characters, no spaces"),
        ("headers: { Host: h }", "headers.Host: is set by the webhook client and cannot be configured"),
        ("headers: { content-length: 1 }", "headers.content-length: is set by the webhook client and cannot be configured"),
        ("headers: { Idempotency-Key: k }", "headers.Idempotency-Key: is set by the webhook client and cannot be configured"),
        (#"headers: { "X A": b }"#, "headers.X A: is not a valid header name (letters, digits and !#$%&'*+-.^_`|~ only)"),
        (#"headers: { X-A: "" }"#, "headers.X-A: the value is empty"),
        (#"headers: { X-A: " padded" }"#, "headers.X-A: the value starts or ends with a space"),
        (
            #"headers: { X-A: "a\r\nX-Injected: 1" }"#,
            "headers.X-A: the value may hold only visible ASCII characters and spaces on one line"
        ),
        ("headers: { X-A: }", "headers.X-A: expected a string or { file: /path }"),
        ("headers: { X-A: [x] }", "headers.X-A: expected a string or { file: /path }"),
        ("headers: { X-A: { file: /nonexistent/token } }", "headers.X-A.file: /nonexistent/token: no such file"),
        ("headers: { X-A: { file: /tmp } }", "headers.X-A.file: /tmp: is a directory"),
        ("headers: [Authorization]", "headers: expected a mapping like { Authorization: { file: /etc/canarygate/hook-token } }"),
        ("headers: { x-team: a, X-Team: b }", #"headers.X-Team: "X-Team" duplicates routes[0].analysis.webhooks[0].headers.x-team"#),
        ("caFile: /nonexistent/ca.pem", "caFile: /nonexistent/ca.pem: no such file"),
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
        let action = field.hasPrefix("url:") || field.hasPrefix("command:") ? "" : "\n    url: https://127.0.0.1:8443/"
        let yaml = withAnalysis("webhooks:\n  - name: smoke\n    type: pre-rollout\n    \(field)" + action)
        #expect(problems(yaml) == ["routes[0].analysis.webhooks[0].\(message) (line 14)"])
    }

    @Test func namesAreRequiredAndUniquePerRoute() {
        #expect(
            problems(
                withAnalysis(
                    """
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
        #expect(
            problems(
                """
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

    // MARK: - https, headers and secrets

    @Test func httpsWithHeadersFromFilesAndACAFile() throws {
        let files = try TempFiles()
        defer { files.remove() }
        let token = try files.write("hook-token", "Bearer s3cret-token\n")
        let ca = try files.write("ca.pem", testPEM)
        let hooks = try analysis(
            """
            webhooks:
              - name: gate
                type: confirm-promotion
                url: https://hooks.internal:8443/gate
                caFile: \(ca)
                headers:
                  Authorization: { file: \(token) }
                  X-Team: payments
              - { name: system-trust, type: event, url: "HTTPS://hooks.internal/events" }
            """
        ).webhooks
        #expect(
            hooks[0].action
                == .webhook(
                    url: "https://hooks.internal:8443/gate",
                    headers: [
                        WebhookHeader(name: "Authorization", value: "Bearer s3cret-token", file: token),
                        WebhookHeader(name: "X-Team", value: "payments"),
                    ], caFile: ca))
        #expect(hooks[1].action == .webhook(url: "HTTPS://hooks.internal/events"))
    }

    /// Decoding is what a start and every reload run, so a rotated token is read by the next reload.
    @Test func everyDecodingReadsTheFileAgain() throws {
        let files = try TempFiles()
        defer { files.remove() }
        let token = try files.write("hook-token", "first\r\n")
        let yaml = "webhooks:\n  - { name: g, type: event, url: http://h/, headers: { X-Token: { file: \(token) } } }"
        #expect(
            try analysis(yaml).webhooks[0].action
                == .webhook(url: "http://h/", headers: [WebhookHeader(name: "X-Token", value: "first", file: token)]))
        _ = try files.write("hook-token", "second")
        #expect(
            try analysis(yaml).webhooks[0].action
                == .webhook(url: "http://h/", headers: [WebhookHeader(name: "X-Token", value: "second", file: token)]))
        try FileManager.default.removeItem(atPath: token)
        #expect(problems(withAnalysis(yaml)) == ["routes[0].analysis.webhooks[0].headers.X-Token.file: \(token): no such file (line 12)"])
    }

    /// A file that cannot be sent as a header value refuses the config, and the message never shows what it holds.
    @Test func aBadSecretFileIsRefusedWithoutShowingIt() throws {
        let files = try TempFiles()
        defer { files.remove() }
        let cases = [
            ("two-lines", "Bearer abc\nX-Injected: yes\n", "the value may hold only visible ASCII characters and spaces on one line"),
            ("empty", "\n", "the value is empty"),
            ("padded", " Bearer abc\n", "the value starts or ends with a space"),
            ("not-ascii", "Bearer ab\u{e9}c", "the value may hold only visible ASCII characters and spaces on one line"),
            ("large", String(repeating: "Bearer abc", count: 1000), "is larger than 8192 bytes"),
        ]
        for (name, contents, reason) in cases {
            let path = try files.write(name, contents)
            let found = problems(
                withAnalysis(
                    """
                    webhooks:
                      - name: g
                        type: event
                        url: http://h/
                        headers:
                          Authorization: { file: \(path) }
                    """))
            #expect(found == ["routes[0].analysis.webhooks[0].headers.Authorization.file: \(path): \(reason) (line 16)"])
            #expect(!found.joined().contains("abc"), "\(found)")
        }
    }

    /// Credentials in the URL were silently dropped; now they refuse the config, and the message shows neither them nor the URL.
    @Test func credentialsInTheURLAreRefusedWithoutShowingThem() {
        for url in ["https://alice:hunter2@hooks.internal/gate", "http://alice:hunter2@127.0.0.1:8080/", "https://hunter2@hooks.internal"] {
            let found = problems(withAnalysis("webhooks:\n  - { name: g, type: event, url: \"\(url)\" }"))
            #expect(
                found == [
                    "routes[0].analysis.webhooks[0].url: must not carry credentials (user:password@); send them in a header whose value is read from a file: "
                        + "headers: { Authorization: { file: /path } } (line 12)"
                ])
            #expect(!found.joined().contains("hunter2") && !found.joined().contains("hooks.internal"), "\(found)")
        }
    }

    /// A URL may hold a secret anywhere (a token in the query, in the path): errors never repeat it.
    @Test func urlErrorsNeverRepeatTheURL() {
        for url in [
            "https://hooks.internal:0/services/T0/B0/s3cr3t?token=s3cr3t", "hxxps://hooks.internal/s3cr3t",
            "https://hooks.internal/s3cr3t path",
        ] {
            let found = problems(withAnalysis("webhooks:\n  - { name: g, type: event, url: \"\(url)\" }"))
            #expect(found.count == 1)
            #expect(!found.joined().contains("s3cr3t") && !found.joined().contains("hooks.internal"), "\(found)")
        }
    }

    @Test func caFileNeedsAnHTTPSURLAndAPEMCertificate() throws {
        let files = try TempFiles()
        defer { files.remove() }
        let ca = try files.write("ca.pem", testPEM)
        let notPEM = try files.write("key.txt", "not a certificate\n")
        #expect(
            problems(
                withAnalysis(
                    """
                    webhooks:
                      - { name: a, type: event, url: http://h/, caFile: \(ca) }
                      - { name: b, type: event, url: https://h/, caFile: \(notPEM) }
                      - { name: c, type: event, command: [/bin/true], caFile: \(ca), headers: { X-A: b } }
                    """)) == [
                    "routes[0].analysis.webhooks[0].caFile: needs an https:// url (line 12)",
                    "routes[0].analysis.webhooks[1].caFile: \(notPEM): holds no PEM certificate (-----BEGIN CERTIFICATE-----) (line 13)",
                    "routes[0].analysis.webhooks[2].headers: only a webhook (url) takes headers (line 14)",
                    "routes[0].analysis.webhooks[2].caFile: only a webhook (url) takes caFile (line 14)",
                ])
    }

    /// Interpolation, `String(reflecting:)` and `dump` of a hook show where a secret comes from, never the secret.
    @Test func printingAHookNeverShowsASecret() {
        var hook = HookConfig(
            name: "gate", type: .event,
            action: .webhook(
                url: "https://h/",
                headers: [
                    WebhookHeader(name: "Authorization", value: "Bearer s3cret", file: "/etc/canarygate/hook-token"),
                    WebhookHeader(name: "X-Team", value: "payments"),
                ]))
        hook.retries = 1
        var dumped = ""
        dump(hook, to: &dumped)
        for text in [String(describing: hook), String(reflecting: hook), dumped, "\([hook])"] {
            #expect(!text.contains("s3cret"), "\(text)")
            #expect(text.contains("/etc/canarygate/hook-token"), "\(text)")
            #expect(text.contains("payments"), "\(text)")
        }
    }
}

/// Enough of a PEM certificate for the decoder's check; libssl parses it only when a hook runs.
private let testPEM = """
    -----BEGIN CERTIFICATE-----
    MIIBdzCCAR2gAwIBAgIUJ5m0yX2bq2bXQfL4v6o1cGcyAjEwCgYIKoZIzj0EAwIw
    -----END CERTIFICATE-----

    """
