// `accessLog:`: off when absent, defaults, every key, and errors with their field path and line.
import Config
import Testing

@Suite struct AccessLogConfigTests {
    /// `minimalConfig` with `accessLog:` on line 9 and `body` indented under it from line 10.
    private func config(_ body: String...) -> String {
        minimalConfig + "accessLog:\n" + body.map { "  " + $0 + "\n" }.joined()
    }

    @Test func absentMeansNoLog() throws {
        #expect(try ConfigLoader.parse(minimalConfig).accessLog == nil)
    }

    @Test func defaults() throws {
        let log = try #require(try ConfigLoader.parse(config("path: /var/log/canarygate/access.log")).accessLog)
        #expect(log == AccessLogConfig(path: "/var/log/canarygate/access.log", format: .json, sample: 1.0))
    }

    @Test func everyKey() throws {
        let log = try #require(try ConfigLoader.parse(config("path: access.log", "format: combined", "sample: 0.1")).accessLog)
        #expect(log.path == "access.log" && log.format == .combined && log.sample == 0.1)
    }

    @Test func pathIsRequiredAndNamesAFile() {
        #expect(problems(config("format: json")) == ["accessLog.path: required (line 10)"])
        #expect(problems(config("path: /var/log/")) == ["accessLog.path: \"/var/log/\" is a directory; name the log file (line 10)"])
    }

    @Test func formatIsJSONOrCombined() {
        #expect(
            problems(config("path: a.log", "format: common")) == [
                "accessLog.format: \"common\" is not an access-log format; expected json or combined (line 11)"
            ])
    }

    @Test func sampleIsAFractionAboveZero() {
        #expect(problems(config("path: a.log", "sample: 0")) == ["accessLog.sample: 0 must be greater than 0 and at most 1 (line 11)"])
        #expect(problems(config("path: a.log", "sample: 1.5")) == ["accessLog.sample: 1.5 must be greater than 0 and at most 1 (line 11)"])
        #expect(problems(config("path: a.log", "sample: 1")).isEmpty)
    }

    @Test func unknownKeysAreRefused() {
        #expect(problems(config("path: a.log", "smaple: 0.5")) == ["accessLog.smaple: unknown key (line 11)"])
    }
}
