// config/blue-green.yaml, the shipped blue/green-with-a-mirror example, loads with the values its comments state.
import Config
import Testing

@Suite struct BlueGreenExampleTests {
    @Test func shippedBlueGreenFileIsIterationsWithoutACohortAndAFullMirror() throws {
        // #filePath is …/Tests/ConfigTests/BlueGreenExampleTests.swift; the file is …/config/blue-green.yaml.
        let root = #filePath.split(separator: "/", omittingEmptySubsequences: false).dropLast(3).joined(separator: "/")
        let config = try ConfigLoader.load(path: root + "/config/blue-green.yaml")
        let route = try #require(config.routes.first)
        let canary = try #require(route.canary)
        #expect(canary.match.isEmpty, "blue/green: no cohort")
        let analysis = try #require(route.analysis)
        #expect(analysis.iterations == 10 && analysis.threshold == 2 && analysis.minRequests == 10)
        #expect(analysis.interval == .seconds(60))
        let mirror = try #require(route.mirror)
        #expect(mirror.weight == 100 && mirror.match.isEmpty && mirror.maxMismatchPercent == 1)
        #expect(mirror.compare.ignoreHeaders == ["x-request-id", "etag"])
        #expect(analysis.mirror == MirrorJudgeConfig(maxMismatchPercent: 1), "the mismatch judge is built for the route")
    }
}
