// `analysis.rollbackWindow` and `analysis.watch`: durations after a promotion, 0 (off, the default) unless written.
import Config
import Testing

@Suite struct AfterPromotionSettingsTests {
    @Test func offByDefaultAndDecoded() throws {
        let defaults = try analysis("threshold: 2")
        #expect(defaults.rollbackWindow == .zero && defaults.watch == .zero)
        let written = try analysis("rollbackWindow: 10m\nwatch: 90s")
        #expect(written.rollbackWindow == .seconds(600))
        #expect(written.watch == .seconds(90))
    }

    /// A watch judges one window per interval, the first an interval after `Succeeded`: a shorter one
    /// would end having judged nothing, and say it passed.
    @Test func aWatchShorterThanOneIntervalIsRefused() throws {
        #expect(
            problems(withAnalysis("interval: 1m\nwatch: 30s")) == [
                "routes[0].analysis.watch: is shorter than analysis.interval: the watch would end before judging one interval (line 12)"
            ])
        #expect(try analysis("interval: 30s\nwatch: 30s").watch == .seconds(30))
    }

    @Test(arguments: [
        ("rollbackWindow: soon", #"rollbackWindow: "soon" is not a duration like "2s" or "500ms""#),
        ("watch: [1s]", #"watch: expected a duration like "2s" or "500ms""#),
    ])
    func badValuesAreReportedOnTheirLine(body: String, message: String) {
        #expect(problems(withAnalysis("threshold: 2\n" + body)) == ["routes[0].analysis.\(message) (line 12)"])
    }
}
