// The timeline's rules: bounded rings, the since filter, per-second rates, classes and quantiles from counter deltas.
import Rollout
import Telemetry
import Testing

@testable import Canarygate

@Suite struct TimelineTests {
    private static let second: UInt64 = 1_000_000_000

    private static func arm(
        _ statuses: [Int: UInt64] = [:], failures: [FailureKind: UInt64] = [:], latencies: [(milliseconds: Double, count: UInt64)] = []
    ) -> ArmSnapshot {
        var histogram = HistogramSnapshot()
        for l in latencies { histogram.record(nanoseconds: UInt64(l.milliseconds * 1e6), times: l.count) }
        return ArmSnapshot(requestsByStatus: statuses, failures: failures, histogram: histogram)
    }

    private static func measured(_ routes: RouteSnapshot...) -> MetricsSnapshot { MetricsSnapshot(routes: routes) }

    private static let web = TimelineRoute(name: "web", weight: 25, hasCanary: true)

    /// Records `snapshots` one second apart from t = 1000, a second after the counters started.
    private static func history(_ snapshots: [MetricsSnapshot], routes: [TimelineRoute] = [web], capacity: Int = 600) -> TimelineHistory {
        var h = TimelineHistory(capacity: capacity)
        for (i, s) in snapshots.enumerated() {
            h.record(unixTime: 1000 + Double(i) + 0.05, monotonicNanoseconds: UInt64(i + 1) * second, measured: s, routes: routes)
        }
        return h
    }

    @Test func theRingKeepsOnlyTheLastSamples() {
        var ring = SampleRing(capacity: 600)
        let empty = TimelineArmSample(delta: ArmSnapshot(), seconds: 1)
        for i in 0..<605 { ring.append(TimelineSample(t: Double(i), weight: 0, primary: empty, canary: nil)) }
        #expect(ring.count == 600)
        #expect(ring.samples.first?.t == 5)
        #expect(ring.samples.last?.t == 604)
        #expect(ring.samples.map(\.t) == (5..<605).map(Double.init))
    }

    @Test func theHistoryIsBoundedPerRoute() {
        let h = Self.history(Array(repeating: Self.measured(RouteSnapshot(name: "web")), count: 12), capacity: 10)
        let samples = h.routes(since: nil)[0].samples
        #expect(samples.count == 10)
        #expect(samples.first?.t == 1002)
        #expect(samples.last?.t == 1011)
    }

    @Test func theFirstSampleCountsFromTheStart() {
        var h = TimelineHistory(startedAt: 3 * Self.second)
        let measured = Self.measured(RouteSnapshot(name: "web", primary: Self.arm([200: 50])))
        h.record(unixTime: 1000.5, monotonicNanoseconds: 5 * Self.second, measured: measured, routes: [Self.web])
        let samples = h.routes(since: nil)[0].samples
        #expect(samples.map(\.t) == [1000])
        #expect(samples.first?.primary.ok == 50)
        #expect(samples.first?.primary.rps == 25)
    }

    @Test func aSampleIsDueOncePerWholeSecond() {
        var h = TimelineHistory()
        #expect(h.isDue(unixTime: 1000.2))
        h.record(unixTime: 1000.2, monotonicNanoseconds: 0, measured: MetricsSnapshot(), routes: [Self.web])
        #expect(!h.isDue(unixTime: 1000.9))
        #expect(h.isDue(unixTime: 1001.0))
    }

    @Test func ratesAndClassesComeFromTheDifferenceOfTwoSnapshots() {
        let before = RouteSnapshot(
            name: "web", primary: Self.arm([200: 100, 404: 3, 502: 1], failures: [.connectRefused: 1, .downstreamAbort: 2]),
            canary: Self.arm([200: 10]))
        let after = RouteSnapshot(
            name: "web",
            primary: Self.arm(
                [200: 190, 204: 10, 301: 8, 404: 5, 429: 1, 502: 4, 503: 2],
                failures: [.connectRefused: 3, .responseTimeout: 1, .grpcError: 7, .downstreamAbort: 5]),
            canary: Self.arm([200: 30, 500: 2]))
        var h = TimelineHistory()
        h.record(unixTime: 1000.1, monotonicNanoseconds: 0, measured: Self.measured(before), routes: [Self.web])
        h.record(unixTime: 1002.1, monotonicNanoseconds: 2 * Self.second, measured: Self.measured(after), routes: [Self.web])
        let sample = h.routes(since: nil)[0].samples[1]
        #expect(sample.t == 1002)
        #expect(sample.weight == 25)
        // 108 ok + 3 4xx + 5 5xx answered in 2 s.
        #expect(sample.primary.ok == 108)
        #expect(sample.primary.clientErrors == 3)
        #expect(sample.primary.serverErrors == 5)
        #expect(sample.primary.rps == 58)
        // Connection refused twice and a response timeout; the gRPC errors were answered.
        #expect(sample.primary.failed == 3)
        #expect(sample.primary.abort == 3)
        #expect(sample.canary?.ok == 20)
        #expect(sample.canary?.serverErrors == 2)
        #expect(sample.canary?.rps == 11)
    }

    @Test func quantilesComeFromTheHistogramOfTheInterval() {
        // What came before the interval (100 ms each) must not weigh in its quantiles.
        let before = RouteSnapshot(name: "web", primary: Self.arm([200: 1000], latencies: [(100, 1000)]))
        let after = RouteSnapshot(name: "web", primary: Self.arm([200: 1100], latencies: [(100, 1000), (2, 98), (50, 2)]))
        let sample = Self.history([Self.measured(before), Self.measured(after)]).routes(since: nil)[0].samples[1]
        let p50 = try! #require(sample.primary.p50)
        let p99 = try! #require(sample.primary.p99)
        #expect(abs(p50 - 2) <= 2 * 0.0079, "p50 \(p50)")
        #expect(abs(p99 - 50) <= 50 * 0.0079, "p99 \(p99)")
    }

    @Test func noResponsesMeanNoQuantilesAndZeroRate() {
        let idle = RouteSnapshot(name: "web", primary: Self.arm([200: 5], latencies: [(3, 5)]))
        let sample = Self.history([Self.measured(idle), Self.measured(idle)]).routes(since: nil)[0].samples[1]
        #expect(sample.primary.p50 == nil)
        #expect(sample.primary.p99 == nil)
        #expect(sample.primary.rps == 0)
        let json = TimelineDocument.render(now: 1001.5, routes: [("web", [sample])], events: [], since: nil)
        #expect(json.contains("\"p50\":null,\"p99\":null"), "\(json)")
    }

    @Test func aRouteWithoutCanaryHasANullCanaryArm() {
        let plain = TimelineRoute(name: "plain", weight: 0, hasCanary: false)
        let h = Self.history([MetricsSnapshot(), MetricsSnapshot()], routes: [plain])
        let sample = h.routes(since: nil)[0].samples[0]
        #expect(sample.canary == nil)
        #expect(TimelineDocument.render(now: 1, routes: [("plain", [sample])], events: [], since: nil).contains("\"canary\":null"))
    }

    @Test func routesFollowTheConfig() {
        let api = TimelineRoute(name: "api", weight: 0, hasCanary: true)
        var h = TimelineHistory()
        for i in 0..<3 {
            h.record(
                unixTime: 1000 + Double(i), monotonicNanoseconds: UInt64(i) * Self.second, measured: MetricsSnapshot(),
                routes: [Self.web, api])
        }
        #expect(h.routes(since: nil).map { $0.samples.count } == [3, 3])
        h.record(unixTime: 1003, monotonicNanoseconds: 3 * Self.second, measured: MetricsSnapshot(), routes: [Self.web])
        #expect(h.routes(since: nil).map(\.name) == ["web"])
        // Back after a reload: its old ring is gone, and its first counters are a baseline (they may hold what it
        // counted before it was removed).
        let counted = Self.measured(RouteSnapshot(name: "api", primary: Self.arm([200: 7])))
        h.record(unixTime: 1004, monotonicNanoseconds: 4 * Self.second, measured: counted, routes: [api, Self.web])
        #expect(h.routes(since: nil).map(\.name) == ["api", "web"])
        #expect(h.routes(since: nil).map { $0.samples.count } == [0, 5])
        h.record(unixTime: 1005, monotonicNanoseconds: 5 * Self.second, measured: counted, routes: [api, Self.web])
        #expect(h.routes(since: nil)[0].samples.map(\.primary.ok) == [0])
    }

    @Test func sinceKeepsOnlyLaterSamplesAndEvents() {
        let h = Self.history(Array(repeating: Self.measured(RouteSnapshot(name: "web")), count: 5))
        #expect(h.routes(since: 1002).first?.samples.map(\.t) == [1003, 1004])
        #expect(h.routes(since: 1004).first?.samples.isEmpty == true)
        let events = [
            EventRecord(sequence: 2, unixTime: 1003.5, route: "web", severity: .warn, line: "web: Progressing weight=25 failed check 1/2"),
            EventRecord(sequence: 1, unixTime: 1001.5, route: "web", severity: .info, line: "web: Progressing weight=25 step"),
        ]
        let json = TimelineDocument.render(now: 1004.2, routes: h.routes(since: 1003), events: events, since: 1003)
        #expect(json.contains("\"seq\":2") && !json.contains("\"seq\":1"), "\(json)")
        // An event 0.2 ms after the cut is written at the cut: not "after" it.
        let atTheCut = EventRecord(sequence: 3, unixTime: 1003.0002, route: "web", severity: .info, line: "web: at the cut")
        #expect(!TimelineDocument.render(now: 1004.2, routes: [], events: [atTheCut], since: 1003).contains("\"seq\":3"))
        let all = TimelineDocument.render(now: 1004.2, routes: h.routes(since: nil), events: events, since: nil)
        let first = try! #require(all.range(of: "\"seq\":1"))
        let second = try! #require(all.range(of: "\"seq\":2"))
        #expect(first.lowerBound < second.lowerBound, "events are ordered by sequence")
    }

    @Test func theDocumentWritesEachKeyInItsPlace() {
        let arm = TimelineArmSample(rps: 120, ok: 118, clientErrors: 1, serverErrors: 0, failed: 0, abort: 1, p50: 1.8, p99: 9.5)
        let canary = TimelineArmSample(rps: 40.5, ok: 39, clientErrors: 0, serverErrors: 1, failed: 1, abort: 0, p50: 2.1, p99: nil)
        let sample = TimelineSample(t: 1_765_000_000, weight: 25, primary: arm, canary: canary)
        let event = EventRecord(sequence: 12, unixTime: 1_765_000_000.25, route: "web", severity: .warn, line: "web: \"quoted\"")
        let json = TimelineDocument.render(now: 1_765_000_000.5, routes: [("web", [sample])], events: [event], since: nil)
        #expect(
            json == "{\"now\":1765000000.5,\"routes\":[{\"name\":\"web\",\"samples\":[{\"t\":1765000000.0,\"weight\":25,"
                + "\"primary\":{\"rps\":120.0,\"ok\":118,\"4xx\":1,\"5xx\":0,\"failed\":0,\"abort\":1,\"p50\":1.8,\"p99\":9.5},"
                + "\"canary\":{\"rps\":40.5,\"ok\":39,\"4xx\":0,\"5xx\":1,\"failed\":1,\"abort\":0,\"p50\":2.1,\"p99\":null}}]}],"
                + "\"events\":[{\"seq\":12,\"t\":1765000000.25,\"route\":\"web\",\"severity\":\"warn\",\"line\":\"web: \\\"quoted\\\"\"}]}")
    }

    @Test func theSinceParameterIsANumber() {
        #expect(TimelineDocument.since(query: "") == .success(nil))
        #expect(TimelineDocument.since(query: "since=1765000000.25") == .success(1_765_000_000.25))
        #expect(TimelineDocument.since(query: "x=1&since=7") == .success(7))
        guard case .failure(let error) = TimelineDocument.since(query: "since=soon") else {
            Issue.record("a non-number is refused")
            return
        }
        #expect(error.text.contains("since"))
    }
}
