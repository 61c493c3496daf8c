// `analysis.iterations` (A/B, blue/green): its bounds, and the weight keys it cannot be written with.
import Config
import Testing

@Suite struct IterationsConfigTests {
    @Test func iterationsFromOneToOneThousand() throws {
        #expect(try analysis("iterations: 1").iterations == 1)
        #expect(try analysis("iterations: 1000").iterations == 1000)
        #expect(try analysis("{}").iterations == nil)
    }

    @Test(arguments: [
        ("iterations: 0", "iterations: 0 must be at least 1 (line 11)"),
        ("iterations: 1001", "iterations: 1001 is more than 1000 (line 11)"),
        ("iterations: many", #"iterations: expected an integer of at least 1, found "many" (line 11)"#),
    ])
    func outOfBounds(body: String, message: String) {
        #expect(problems(withAnalysis(body)) == ["routes[0].analysis.\(message)"])
    }

    @Test(arguments: ["stepWeight: 10", "stepWeights: [10, 20]", "maxWeight: 50", "stepWeightPromotion: 50", "stepWeightRollback: 10"])
    func aWeightKeyWithIterationsIsRefusedAtItsLine(key: String) {
        let name = key.split(separator: ":")[0]
        #expect(
            problems(withAnalysis("iterations: 5\nthreshold: 2\n\(key)")) == [
                "routes[0].analysis.\(name): cannot be combined with iterations (A/B or blue/green: weight 0, then all traffic at once) (line 13)"
            ])
        // Either order; each weight key is named.
        #expect(problems(withAnalysis("\(key)\niterations: 5")).first?.hasSuffix("(line 11)") == true)
    }

    @Test func everyWeightKeyIsReported() {
        #expect(
            problems(withAnalysis("stepWeight: 10\nmaxWeight: 50\niterations: 3")) == [
                "routes[0].analysis.stepWeight: cannot be combined with iterations (A/B or blue/green: weight 0, then all traffic at once) (line 11)",
                "routes[0].analysis.maxWeight: cannot be combined with iterations (A/B or blue/green: weight 0, then all traffic at once) (line 12)",
            ])
    }

    @Test func iterationsGoWithTheOtherAnalysisKeys() throws {
        let a = try analysis("interval: 100ms\nthreshold: 1\niterations: 3\nminRequests: 1\nrequireEvidence: false")
        #expect(a.iterations == 3 && a.threshold == 1 && a.minRequests == 1 && !a.requireEvidence)
    }
}
