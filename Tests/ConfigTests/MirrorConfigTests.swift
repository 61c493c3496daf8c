// `routes[].mirror`: defaults, every key decoded, the canary it needs, the judge's threshold, and errors with their lines.
import Config
import Testing

@Suite struct MirrorConfigTests {
    /// `minimalConfig` with a canary (line 9) and `mirror:` on line 10, `body` indented under it from line 11.
    private func config(_ body: String..., canary: Bool = true, analysis: Bool = false) -> String {
        minimalConfig + (canary ? "    canary: { revision: v2, endpoints: [\"127.0.0.1:9002\"] }\n" : "")
            + "    mirror:\n" + body.map { "      " + $0 + "\n" }.joined()
            + (analysis ? "    analysis: { interval: 1s }\n" : "")
    }

    @Test func defaults() throws {
        let mirror = try #require(try ConfigLoader.parse(config("weight: 100")).routes[0].mirror)
        #expect(mirror == MirrorConfig())
        #expect(mirror.maxBodyBytes == 65536 && mirror.maxInFlight == 64 && mirror.maxMismatchPercent == 5)
        #expect(mirror.compare.status && mirror.compare.body && mirror.compare.latency)
        #expect(mirror.compare.latencyRatio == 2 && mirror.compare.latencyFloor == .milliseconds(50))
    }

    @Test func everyKey() throws {
        let mirror = try #require(
            try ConfigLoader.parse(
                config(
                    "weight: 25", "match: [{ method: POST, pathPrefix: /search }]", "maxBodyBytes: 1024", "maxInFlight: 8",
                    "maxMismatchPercent: 0.5",
                    "compare: { status: false, body: true, latency: false, latencyRatio: 3, latencyFloor: 10ms,",
                    "  ignoreHeaders: [X-Request-Id, etag], ignoreJSONFields: [meta.requestId, at] }")
            ).routes[0].mirror)
        #expect(mirror.weight == 25)
        #expect(mirror.match.count == 1 && mirror.match[0].method == "POST" && mirror.match[0].pathPrefix == "/search")
        #expect(mirror.maxBodyBytes == 1024 && mirror.maxInFlight == 8 && mirror.maxMismatchPercent == 0.5)
        #expect(!mirror.compare.status && mirror.compare.body && !mirror.compare.latency)
        #expect(mirror.compare.latencyRatio == 3 && mirror.compare.latencyFloor == .milliseconds(10))
        #expect(mirror.compare.ignoreHeaders == ["x-request-id", "etag"])
        #expect(mirror.compare.ignoreJSONFields == ["meta.requestId", "at"])
    }

    @Test func aManagedRouteHandsTheThresholdToItsJudge() throws {
        let route = try ConfigLoader.parse(config("maxMismatchPercent: 2", analysis: true)).routes[0]
        #expect(route.analysis?.mirror == MirrorJudgeConfig(maxMismatchPercent: 2))
        let idle = try ConfigLoader.parse(config("weight: 0", analysis: true)).routes[0]
        #expect(idle.analysis?.mirror == nil, "a mirror copying nothing would leave its judge without evidence for ever")
    }

    @Test func aMirrorNeedsACanary() {
        #expect(problems(config("weight: 10", canary: false)) == ["routes[0].mirror: requires a canary (line 9)"])
    }

    @Test func aMirrorNeedsHTTP1Arms() {
        let yaml = config("weight: 10").replacingOccurrences(
            of: "endpoints: [\"127.0.0.1:9002\"] }", with: "endpoints: [\"127.0.0.1:9002\"], protocol: h2 }")
        #expect(problems(yaml) == ["routes[0].mirror: requires HTTP/1.1 arms: a route with a `protocol: h2` arm is not mirrored (line 10)"])
    }

    @Test func invalidValuesNameTheirFieldAndLine() {
        #expect(problems(config("weight: 101")) == ["routes[0].mirror.weight: 101 is not in 0...100 (line 11)"])
        #expect(problems(config("maxInFlight: 0")) == ["routes[0].mirror.maxInFlight: 0 is not in 1...4096 (line 11)"])
        #expect(problems(config("compare: { latencyRatio: 0.5 }")).first?.hasPrefix("routes[0].mirror.compare.latencyRatio:") == true)
        #expect(
            problems(config("compare: { ignoreJSONFields: [a..b] }")) == [
                "routes[0].mirror.compare.ignoreJSONFields[0]: \"a..b\" is not a field path (member names separated by single dots) (line 11)"
            ])
        #expect(problems(config("compare: { ignoreHeaders: [\"a b\"] }")).first?.contains("is not a valid header name") == true)
        #expect(problems(config("wieght: 1")) == ["routes[0].mirror.wieght: unknown key (line 11)"])
    }
}
