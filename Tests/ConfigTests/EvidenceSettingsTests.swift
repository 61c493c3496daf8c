// The evidence settings of `analysis`: requireEvidence, pace and minDwell, with their defaults and errors.
import Config
import Testing

@Suite struct EvidenceSettingsTests {
    @Test func defaultsRequireEvidenceAtTheIntervalsPace() throws {
        let a = try analysis("interval: 1s")
        #expect(a.requireEvidence)
        #expect(a.pace == .interval)
        #expect(a.minDwell == .seconds(10))
    }

    @Test func paceEvidenceWithItsDwell() throws {
        let a = try analysis("{ pace: evidence, minDwell: 2s, requireEvidence: false }")
        #expect(a.pace == .evidence)
        #expect(a.minDwell == .seconds(2))
        #expect(!a.requireEvidence)
    }

    @Test func unknownPaceAndShortDwellAreRefusedWithTheirField() {
        let reported = problems(withAnalysis("{ pace: fast, minDwell: 10ms }"))
        #expect(
            reported.contains { $0.contains("analysis.pace") && $0.contains("\"fast\" is not pace; expected interval or evidence") },
            "\(reported)")
        #expect(reported.contains { $0.contains("analysis.minDwell") && $0.contains("100ms") }, "\(reported)")
    }
}
