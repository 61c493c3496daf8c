// The top-level `alerts` list: types, URLs (the webhook parser's rules), severities, defaults, bounds, unique names, caFile.
import Config
import Foundation
import Testing

/// `minimalConfig` plus `alerts:` at line 9; the body's first line is line 10.
private func withAlerts(_ body: String) -> String {
    minimalConfig + "alerts:\n" + body.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n") + "\n"
}

@Suite struct AlertConfigTests {
    @Test func validAlertsWithDefaultsAndEveryField() throws {
        let config = try ConfigLoader.parse(
            withAlerts(
                """
                - { name: team-chat, type: slack, url: "https://hooks.slack.com/services/T0/B0/secret" }
                - name: ops
                  type: msteams
                  url: https://example.webhook.office.com/webhookb2/abc
                  severity: error
                  timeout: 2s
                  retries: 0
                - { name: d, type: discord, url: "https://discord.com/api/webhooks/1/x", severity: info, retries: 10 }
                - { name: flagger, type: webhook, url: "http://[::1]:8080/events?x=1" }
                """))
        let slack = AlertConfig(name: "team-chat", type: .slack, url: "https://hooks.slack.com/services/T0/B0/secret")
        #expect(slack.severity == .warn && slack.timeout == .seconds(5) && slack.retries == 3 && slack.caFile == nil)
        var teams = AlertConfig(name: "ops", type: .msteams, url: "https://example.webhook.office.com/webhookb2/abc")
        teams.severity = .error
        teams.timeout = .seconds(2)
        teams.retries = 0
        var discord = AlertConfig(name: "d", type: .discord, url: "https://discord.com/api/webhooks/1/x")
        discord.severity = .info
        discord.retries = 10
        let webhook = AlertConfig(name: "flagger", type: .webhook, url: "http://[::1]:8080/events?x=1")
        #expect(config.alerts == [slack, teams, discord, webhook])
    }

    @Test func withoutTheSectionThereAreNoAlerts() throws {
        #expect(try ConfigLoader.parse(minimalConfig).alerts == [])
        #expect(try ConfigLoader.parse(minimalConfig + "alerts: []\n").alerts == [])
    }

    @Test func severitiesAreOrderedInfoWarnError() {
        #expect(AlertSeverity.info < .warn && AlertSeverity.warn < .error && !(AlertSeverity.error < .error))
    }

    @Test func requiredFields() {
        #expect(
            problems(withAlerts("- { severity: info }")) == [
                "alerts[0].name: required (line 10)",
                "alerts[0].type: required (line 10)",
                "alerts[0].url: required (line 10)",
            ])
    }

    @Test func unknownTypeAndSeverityNameTheValidOnes() {
        #expect(
            problems(
                withAlerts("- { name: a, type: pagerduty, url: http://h/ }\n- { name: b, type: slack, url: http://h/, severity: critical }")
            )
                == [
                    #"alerts[0].type: "pagerduty" is not an alert type; expected slack or msteams or discord or webhook (line 10)"#,
                    #"alerts[1].severity: "critical" is not a severity; expected info or warn or error (line 11)"#,
                ])
    }

    @Test func duplicateNamesAreRefused() {
        #expect(
            problems(withAlerts("- { name: chat, type: slack, url: http://h/a }\n- { name: chat, type: discord, url: http://h/b }")) == [
                #"alerts[1].name: "chat" duplicates alerts[0].name (line 11)"#
            ])
    }

    @Test func urlsFollowTheWebhookParserAndAreNeverRepeated() {
        let cases: [(url: String, message: String)] = [
            ("ftp://hooks.example/x", #"must start with "http://" or "https://""#),
            ("https://user:token@hooks.example/x", "must not carry credentials"),
            ("https://hooks.example:99999/x", "has an invalid port: not in 1...65535"),
            ("https:///services/x", "has no host"),
        ]
        for (url, message) in cases {
            let found = problems(withAlerts("- { name: a, type: slack, url: \"\(url)\" }"))
            #expect(
                found.count == 1 && found[0].hasPrefix("alerts[0].url: \(message)") && found[0].hasSuffix("(line 10)"), "\(url): \(found)")
            #expect(!found.joined().contains(url), "the URL is repeated: \(found)")
        }
    }

    @Test func timeoutAndRetriesAreBounded() {
        #expect(
            problems(withAlerts("- { name: a, type: slack, url: http://h/, timeout: 0s, retries: 11 }")) == [
                #"alerts[0].timeout: "0s" must be greater than 0 (line 10)"#,
                "alerts[0].retries: 11 is not in 0...10 (line 10)",
            ])
    }

    @Test func unknownKeysAreRefused() {
        #expect(
            problems(withAlerts("- name: a\n  type: slack\n  url: http://h/\n  channel: \"#ops\"")) == [
                "alerts[0].channel: unknown key (line 13)"
            ])
        #expect(problems(minimalConfig + "alerts: { name: a }\n") == ["alerts: expected a list (line 9)"])
    }

    @Test func caFileNeedsHTTPSAndAPEMCertificate() throws {
        let files = try TempFiles()
        defer { files.remove() }
        let ca = try files.write("ca.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
        let notPEM = try files.write("not.pem", "hello\n")
        #expect(
            problems(
                withAlerts(
                    """
                    - { name: a, type: webhook, url: http://h/, caFile: \(ca) }
                    - { name: b, type: webhook, url: https://h/, caFile: \(notPEM) }
                    """)) == [
                    "alerts[0].caFile: needs an https:// url (line 10)",
                    "alerts[1].caFile: \(notPEM): holds no PEM certificate (-----BEGIN CERTIFICATE-----) (line 11)",
                ])
        let config = try ConfigLoader.parse(withAlerts("- { name: a, type: webhook, url: https://h/, caFile: \(ca) }"))
        #expect(config.alerts.first?.caFile == ca)
    }
}

@Suite struct AlertsExampleTests {
    @Test func shippedAlertsFileHasTheThreeAlertsItsCommentsDescribe() throws {
        // #filePath is …/Tests/ConfigTests/AlertConfigTests.swift; the file is …/config/alerts.yaml.
        let root = #filePath.split(separator: "/", omittingEmptySubsequences: false).dropLast(3).joined(separator: "/")
        let config = try ConfigLoader.load(path: root + "/config/alerts.yaml")
        #expect(config.alerts.map(\.name) == ["team-chat", "on-call", "deploy-bot"])
        #expect(config.alerts.map(\.type) == [.slack, .msteams, .webhook])
        #expect(config.alerts.map(\.severity) == [.info, .error, .warn])
        #expect(config.alerts.map(\.timeout) == [.seconds(5), .seconds(10), .seconds(5)])
        #expect(config.alerts.map(\.retries) == [3, 5, 3])
        #expect(config.routes.first?.analysis != nil, "a managed route, whose events are sent")
    }
}
