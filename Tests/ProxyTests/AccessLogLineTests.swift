// The access log's line formats: JSON escaping (quotes, backslash, control bytes, invalid UTF-8), nginx's combined line, the time.
import Config
import Foundation
@testable import Proxy
import Testing

@Suite struct AccessLogLineTests {
    /// Writes with `body` into fresh memory of the longest line's size; the text written.
    private func written(_ body: (inout AccessLogLine) -> Void) -> String {
        let memory = UnsafeMutableRawBufferPointer.allocate(byteCount: AccessLogLine.maxLength, alignment: 8)
        defer { memory.deallocate() }
        var line = AccessLogLine(base: memory.baseAddress!)
        body(&line)
        #expect(line.count <= AccessLogLine.maxLength)
        return String(decoding: UnsafeRawBufferPointer(rebasing: memory[0..<line.count]), as: UTF8.self)
    }

    private func json(_ bytes: [UInt8], budget: Int = 100) -> String {
        bytes.withUnsafeBytes { raw in written { $0.jsonEscaped(raw, budget: budget) } }
    }

    private func combined(_ bytes: [UInt8], budget: Int = 100) -> String {
        bytes.withUnsafeBytes { raw in written { $0.combinedEscaped(raw, budget: budget) } }
    }

    @Test func jsonEscapesQuotesBackslashesAndControlBytes() {
        #expect(json(Array("a\"b\\c".utf8)) == #"a\"b\\c"#)
        #expect(json([0x0A, 0x0D, 0x09, 0x00, 0x1F, 0x7F]) == #"\n\r\t\u0000\u001f\u007f"#)
    }

    @Test func jsonKeepsValidUTF8AndEscapesEachInvalidByte() {
        #expect(json(Array("é→😀".utf8)) == "é→😀")
        // A lone continuation byte, a truncated sequence, an overlong form, a surrogate.
        #expect(json([0x80]) == #"\u0080"#)
        #expect(json([0xE2, 0x86, 0x41]) == #"\u00e2\u0086A"#)
        #expect(json([0xC0, 0xAF]) == #"\u00c0\u00af"#)
        #expect(json([0xED, 0xA0, 0x80]) == #"\u00ed\u00a0\u0080"#)
        #expect(json([0xF4, 0x90, 0x80, 0x80]) == #"\u00f4\u0090\u0080\u0080"#)
    }

    @Test func anEscapedLineIsValidJSON() throws {
        let value: [UInt8] = [0x22, 0x5C, 0x0A, 0xFF, 0xC3, 0xA9]
        let text = "{\"v\":\"" + json(value) + "\"}"
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: String])
        #expect(object["v"] == "\"\\\n\u{FF}é")
    }

    /// Plain runs are scanned eight bytes at a time: a byte to escape is found at every position of a word.
    @Test func everyByteToEscapeIsFoundAtEveryPositionOfALongValue() {
        for special: UInt8 in [0x00, 0x1F, 0x22, 0x5C, 0x7F, 0x80, 0xFF] {
            for position in 0..<24 {
                var value = [UInt8](repeating: UInt8(ascii: "a"), count: 24)
                value[position] = special
                let expected = String(repeating: "a", count: position) + json([special]) + String(repeating: "a", count: 23 - position)
                #expect(json(value) == expected, "byte \(special) at \(position)")
                #expect(
                    combined(value) == String(repeating: "a", count: position) + combined([special])
                        + String(repeating: "a", count: 23 - position))
            }
        }
        // The bounds of the plain range, in a word of their own.
        #expect(json(Array(" ~ ~ ~ ~ ~ ~ ~ ~".utf8)) == " ~ ~ ~ ~ ~ ~ ~ ~")
    }

    @Test func aValueIsCutAtItsBudgetNeverInsideAnEscape() {
        #expect(json(Array("abcdef".utf8), budget: 4) == "abcd")
        #expect(json([0x41, 0x41, 0x00], budget: 7) == "AA")
        #expect(json(Array("aé".utf8), budget: 2) == "a")
        #expect(combined([0x41, 0x22], budget: 4) == "A")
    }

    @Test func combinedEscapesAsNginxDoes() {
        #expect(combined(Array("GET /a b\"c\\".utf8)) == #"GET /a b\x22c\x5C"#)
        #expect(combined([0x0A, 0xC3, 0xA9]) == #"\x0A\xC3\xA9"#)
    }

    @Test func decimalsHaveEveryDigit() {
        #expect(written { $0.decimal(0) } == "0")
        #expect(written { $0.decimal(9) } == "9")
        #expect(written { $0.decimal(10) } == "10")
        #expect(written { $0.decimal(1_000_000) } == "1000000")
        #expect(written { $0.decimal(UInt64.max) } == "18446744073709551615")
    }

    @Test func durationsAreMillisecondsWithThreeDecimals() {
        #expect(written { $0.milliseconds(nanoseconds: 0) } == "0.000")
        #expect(written { $0.milliseconds(nanoseconds: 1_234_567) } == "1.235")
        #expect(written { $0.milliseconds(nanoseconds: 12_000_000_000) } == "12000.000")
    }

    @Test func timesAreRFC3339AndCommonLogInUTC() {
        // 2026-12-06T16:02:21Z.
        let text = AccessLogSecondText(CivilTime(unixSeconds: 1_796_572_941))
        #expect(written { text.writeRFC3339(milliseconds: 7, into: &$0) } == "2026-12-06T16:02:21.007Z")
        #expect(written { text.writeCommonLog(into: &$0) } == "06/Dec/2026:16:02:21 +0000")
        #expect(written { CivilTime(unixSeconds: 0).writeRFC3339Seconds(into: &$0) } == "1970-01-01T00:00:00")
        // A leap day, and the last second of a year; a second's text is replaced whole.
        text.set(CivilTime(unixSeconds: 951_782_400))
        #expect(written { text.writeRFC3339(milliseconds: 999, into: &$0) } == "2000-02-29T00:00:00.999Z")
        text.set(CivilTime(unixSeconds: 1_704_067_199))
        #expect(written { text.writeCommonLog(into: &$0) } == "31/Dec/2023:23:59:59 +0000")
    }

    @Test func theCalendarAgreesWithFoundationOverFourHundredYears() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        var seconds: Int64 = -2_208_988_800  // 1900
        while seconds < 10_413_792_000 {  // 2300
            let civil = CivilTime(unixSeconds: seconds)
            let parts = calendar.dateComponents([.year, .month, .day, .hour], from: Date(timeIntervalSince1970: Double(seconds)))
            #expect(civil.year == parts.year && civil.month == parts.month && civil.day == parts.day && civil.hour == parts.hour)
            if civil.year != parts.year || civil.month != parts.month || civil.day != parts.day { return }
            seconds += 86_400 * 13 + 3_600 * 7
        }
    }

    private static let webCanary = AccessLogFragment.arm(route: "web", arm: "canary", revision: "v2")
    private static let upstream = AccessLogFragment.endpoint("127.0.0.1:9002")

    @Test func configTextIsEscapedOnceAsEachFormatWritesIt() {
        let odd = AccessLogFragment.arm(route: "a\"b c", arm: "primary", revision: "")
        #expect(String(decoding: odd.text.json, as: UTF8.self) == #"a\"b c","arm":"primary","revision":"-"#)
        #expect(String(decoding: odd.text.combined, as: UTF8.self) == #"a\x22b c arm=primary rev=-"#)
        let unrouted = AccessLogFragment.unrouted
        #expect(String(decoding: unrouted.text.json, as: UTF8.self) == #"-","arm":"none","revision":"-"#)
        #expect(String(decoding: unrouted.text.combined, as: UTF8.self) == "- arm=none rev=-")
    }

    private func entry(
        method: String = "GET", target: String = "/a?b=1", status: Int = 200, failure: String? = nil,
        _ body: (AccessLogEntry) -> String
    ) -> String {
        Array("10.0.0.1".utf8).withUnsafeBytes { client in
            Array(method.utf8).withUnsafeBytes { m in
                Array(target.utf8).withUnsafeBytes { t in
                    Array("curl/8".utf8).withUnsafeBytes { ua in
                        body(
                            AccessLogEntry(
                                unixMilliseconds: 1_796_572_941_123, client: client, method: m, target: t, proto: "HTTP/1.1",
                                referer: nil, userAgent: ua, status: status, bytesToClient: 512, durationNanoseconds: 2_500_000,
                                arm: Self.webCanary.text, upstream: Self.upstream.text, failure: failure))
                    }
                }
            }
        }
    }

    @Test func theJSONLineHasEveryField() throws {
        let time = AccessLogSecondText(CivilTime(unixSeconds: 1_796_572_941))
        let text = entry { e in written { e.writeJSON(time: time, into: &$0) } }
        #expect(text.hasSuffix("}\n"))
        #expect(
            text
                == #"{"time":"2026-12-06T16:02:21.123Z","client":"10.0.0.1","method":"GET","path":"/a?b=1","protocol":"HTTP/1.1","status":200,"bytes":512,"duration_ms":2.500,"route":"web","arm":"canary","revision":"v2","upstream":"127.0.0.1:9002","failure":"-","referer":"-","user_agent":"curl/8"}"#
                + "\n")
        #expect(try JSONSerialization.jsonObject(with: Data(text.utf8)) is [String: Any])
    }

    @Test func theCombinedLineIsNginxsWithTheProxysFieldsAppended() {
        let time = AccessLogSecondText(CivilTime(unixSeconds: 1_796_572_941))
        let text = entry(status: 502, failure: "connect_refused") { e in written { e.writeCombined(time: time, into: &$0) } }
        #expect(
            text
                == #"10.0.0.1 - - [06/Dec/2026:16:02:21 +0000] "GET /a?b=1 HTTP/1.1" 502 512 "-" "curl/8" route=web arm=canary rev=v2 upstream=127.0.0.1:9002 duration=2.500 failure=connect_refused"#
                + "\n")
        let refused = entry(method: "") { e in written { e.writeCombined(time: time, into: &$0) } }
        #expect(refused.contains("] \"-\" 200 "), "\(refused)")
    }

    @Test func theLongestRequestFitsTheLineBound() {
        let long = String(repeating: "\u{1}", count: 100_000)
        let time = AccessLogSecondText()
        for format in AccessLogConfig.Format.allCases {
            let text = entry(method: long, target: long) { e in written { e.write(format, time: time, into: &$0) } }
            #expect(text.hasSuffix("\n"))
        }
    }
}
