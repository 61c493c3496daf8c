// `analysis.stepWeightRollback`: gradual rollback's step, 0 (off, the default) to 100 percent points.
import Config
import Testing

@Suite struct StepWeightRollbackTests {
    @Test func offByDefaultAndDecodedWithinBounds() throws {
        #expect(try analysis("threshold: 2").stepWeightRollback == 0)
        #expect(try analysis("stepWeightRollback: 0").stepWeightRollback == 0)
        #expect(try analysis("stepWeightRollback: 1").stepWeightRollback == 1)
        #expect(try analysis("stepWeightRollback: 100").stepWeightRollback == 100)
    }

    @Test(arguments: [
        ("stepWeightRollback: -1", "stepWeightRollback: -1 is not in 0...100"),
        ("stepWeightRollback: 101", "stepWeightRollback: 101 is not in 0...100"),
        ("stepWeightRollback: ten", #"stepWeightRollback: expected an integer in 0...100, found "ten""#),
    ])
    func badValuesAreReportedOnTheirLine(body: String, message: String) {
        #expect(problems(withAnalysis("threshold: 2\n" + body)) == ["routes[0].analysis.\(message) (line 12)"])
    }
}
