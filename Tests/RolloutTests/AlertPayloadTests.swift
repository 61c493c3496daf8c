// The notification bodies as exact JSON: Slack, Microsoft Teams, Discord, Flagger's event webhook; escaping and timestamps.
import Config
import Foundation
import Rollout
import Testing

@Suite struct AlertPayloadTests {
    /// 2026-12-06T16:02:21.123Z.
    static let time = 1_796_572_941.123_9

    static let rollback = AlertEvent(
        route: "web", revision: "v2", phase: "Failed", weight: 0, severity: .error,
        message: "rolled back v2: request-success-rate 70% < 99%", unixTime: time)

    private func text(_ event: AlertEvent, _ type: AlertType) -> String {
        String(decoding: AlertPayload.body(event, as: type), as: UTF8.self)
    }

    @Test func slackHasTheHeadlineAsTextAndAColouredAttachmentWithTheFacts() {
        #expect(
            text(Self.rollback, .slack)
                == ##"{"text":"ERROR web v2: Failed at weight 0","attachments":[{"color":"#E01E5A","text":"rolled back v2: request-success-rate 70% &lt; 99%","##
                + #""fields":[{"title":"Route","value":"web","short":true},{"title":"Revision","value":"v2","short":true},"#
                + #"{"title":"Phase","value":"Failed","short":true},{"title":"Weight","value":"0%","short":true},"#
                + #"{"title":"Severity","value":"error","short":true}],"footer":"canarygate","ts":1796572941}]}"#)
    }

    @Test func teamsGetsAnAdaptiveCardInAMessageWithFacts() {
        var step = Self.rollback
        step.severity = .info
        step.phase = "Progressing"
        step.weight = 25
        step.message = "advanced to 25%"
        #expect(
            text(step, .msteams)
                == #"{"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive","contentUrl":null,"#
                + #""content":{"$schema":"http://adaptivecards.io/schemas/adaptive-card.json","type":"AdaptiveCard","version":"1.4","#
                + #""body":[{"type":"TextBlock","text":"INFO web v2: Progressing at weight 25","weight":"Bolder","size":"Medium","#
                + #""color":"Good","wrap":true},{"type":"TextBlock","text":"advanced to 25%","wrap":true},"#
                + #"{"type":"FactSet","facts":[{"title":"Route","value":"web"},{"title":"Revision","value":"v2"},"#
                + #"{"title":"Phase","value":"Progressing"},{"title":"Weight","value":"25%"},{"title":"Severity","value":"info"}]}]}}]}"#)
    }

    @Test func teamsColoursTheHeadlineBySeverity() {
        var event = Self.rollback
        for (severity, colour) in [(EventSeverity.info, "Good"), (.warn, "Warning"), (.error, "Attention")] {
            event.severity = severity
            #expect(text(event, .msteams).contains(#""weight":"Bolder","size":"Medium","color":"\#(colour)","wrap":true}"#), "\(severity)")
        }
    }

    @Test func discordGetsContentAndAnEmbedWithAnISOTimestampAndNoMentions() {
        var warning = Self.rollback
        warning.severity = .warn
        warning.phase = "Progressing"
        warning.weight = 25
        warning.message = "failed check 1/2 @everyone"
        warning.replica = "edge-1"
        #expect(
            text(warning, .discord)
                == #"{"content":"WARN web v2: Progressing at weight 25","embeds":[{"title":"web: Progressing","#
                + #""description":"failed check 1/2 @everyone","color":15512110,"fields":[{"name":"Route","value":"web","inline":true},"#
                + #"{"name":"Revision","value":"v2","inline":true},{"name":"Phase","value":"Progressing","inline":true},"#
                + #"{"name":"Weight","value":"25%","inline":true},{"name":"Severity","value":"warn","inline":true},"#
                + #"{"name":"Replica","value":"edge-1","inline":true}],"timestamp":"2026-12-06T16:02:21.123Z"}],"#
                + #""allowed_mentions":{"parse":[]}}"#)
    }

    @Test func webhookIsFlaggersEventPayloadPlusOurFields() {
        #expect(
            text(Self.rollback, .webhook)
                == #"{"name":"web","namespace":"canarygate","phase":"Failed","metadata":{"eventMessage":"rolled back v2: request-success-rate 70% < 99%","#
                + #""eventType":"Warning","timestamp":"1796572941123"},"severity":"error","revision":"v2","weight":0}"#)
        var step = Self.rollback
        step.severity = .info
        step.namespace = "edge"
        step.replica = "edge-2"
        let json = try? JSONSerialization.jsonObject(with: Data(AlertPayload.body(step, as: .webhook))) as? [String: Any]
        let metadata = json?["metadata"] as? [String: String]
        #expect(metadata?["eventType"] == "Normal" && json?["namespace"] as? String == "edge" && json?["replica"] as? String == "edge-2")
    }

    @Test func stringsEscapeQuotesControlCharactersAndEverythingBeyondASCII() {
        #expect(AlertJSON.string("a\"b\\c\n\r\t\u{8}\u{C}\u{1}\u{7F}").text == #""a\"b\\c\n\r\t\b\f\u0001\u007f""#)
        #expect(AlertJSON.string("é—\u{2028}😀").text == #""\u00e9\u2014\u2028\ud83d\ude00""#)
        // Every payload is pure ASCII and parses back to the message as written.
        var odd = Self.rollback
        odd.message = "hook \"deploy\" said: naïve\n\u{0}done 😀 <b>"
        for type in AlertType.allCases {
            let body = AlertPayload.body(odd, as: type)
            #expect(body.allSatisfy { $0 >= 0x20 && $0 < 0x7F }, "\(type)")
            let parsed = try? JSONSerialization.jsonObject(with: Data(body))
            #expect(parsed != nil, "\(type): \(String(decoding: body, as: UTF8.self))")
        }
        let webhook = try? JSONSerialization.jsonObject(with: Data(AlertPayload.body(odd, as: .webhook))) as? [String: Any]
        #expect((webhook?["metadata"] as? [String: String])?["eventMessage"] == odd.message)
    }

    @Test func slackEscapesItsControlSequencesOthersDoNot() {
        var event = Self.rollback
        event.message = "<!channel> a & b"
        #expect(text(event, .slack).contains(#""text":"&lt;!channel&gt; a &amp; b""#))
        #expect(text(event, .msteams).contains(#""text":"<!channel> a & b""#))
    }

    @Test func longMessagesAreCut() {
        let event = AlertEvent(
            route: "web", revision: "", phase: "Failed", weight: 0, severity: .error, message: String(repeating: "x", count: 5000),
            unixTime: 0)
        #expect(event.message.count == AlertEvent.messageLimit && event.message.hasSuffix("…"))
        #expect(event.headline == "ERROR web: Failed at weight 0")
    }

    @Test func timestampsAreUTCCalendarDates() {
        #expect(AlertPayload.isoTimestamp(0) == "1970-01-01T00:00:00.000Z")
        #expect(AlertPayload.isoTimestamp(951_782_400.5) == "2000-02-29T00:00:00.500Z")
        #expect(AlertPayload.isoTimestamp(1_709_251_199.999) == "2024-02-29T23:59:59.999Z")
        #expect(AlertPayload.isoTimestamp(4_102_444_800) == "2100-01-01T00:00:00.000Z")
        // Against Foundation over a spread of instants.
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        for t in stride(from: 0.0, to: 5e9, by: 123_456_789.25) {
            #expect(AlertPayload.isoTimestamp(t) == formatter.string(from: Date(timeIntervalSince1970: t)), "\(t)")
        }
    }

    @Test func severityMinimumsSelectEvents() {
        var event = Self.rollback
        for (severity, sentTo) in [(EventSeverity.info, [AlertSeverity.info]), (.warn, [.info, .warn]), (.error, [.info, .warn, .error])] {
            event.severity = severity
            #expect(AlertSeverity.allCases.filter { event.reaches($0) } == sentTo, "\(severity)")
        }
    }
}
