// GET /timeline over real sockets: one sample a second per route, whose counts add up to what the upstreams answered.
import Foundation
import Testing

extension Integration {
    @Suite("The timeline") struct TimelineEndToEnd {
        /// A route's samples and the events, as GET /timeline returned them.
        struct Document {
            var now: Double
            var samples: [[String: Any]]
            var events: [[String: Any]]

            init(_ proxy: RolloutProxy, since: Double? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws {
                let response = try proxy.admin("/timeline" + (since.map { "?since=\($0)" } ?? ""))
                let json = try #require(
                    try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any], "\(response.status) \(response.text)",
                    sourceLocation: sourceLocation)
                now = (json["now"] as? NSNumber)?.doubleValue ?? 0
                let routes = json["routes"] as? [[String: Any]] ?? []
                #expect(routes.map { $0["name"] as? String } == ["web"], "routes: \(routes)", sourceLocation: sourceLocation)
                samples = routes.first?["samples"] as? [[String: Any]] ?? []
                events = json["events"] as? [[String: Any]] ?? []
            }

            func arm(_ sample: [String: Any], _ arm: String) -> [String: Any] { sample[arm] as? [String: Any] ?? [:] }
            func total(_ arm: String, _ key: String) -> Int {
                samples.reduce(0) { $0 + ((self.arm($1, arm)[key] as? NSNumber)?.intValue ?? 0) }
            }
            var times: [Double] { samples.map { ($0["t"] as? NSNumber)?.doubleValue ?? 0 } }
        }

        /// A rollout under load: every second brings a sample; once the load has stopped and two more samples
        /// have come, each arm's `ok` counts add up to exactly the requests its upstream answered; the weights
        /// seen follow the rollout, and its steps are in the events with their severity; `since` filters both.
        @Test func samplesAddUpToTheUpstreamsAnswersAndEventsFollowTheRollout() throws {
            let primary = try TestUpstream.arm("primary", text: "v1")
            let canary = try TestUpstream.arm("canary", text: "v2")
            defer { primary.stop(); canary.stop() }
            var spec = RolloutSpec(primary: primary, canary: canary)
            spec.interval = "1s"
            spec.ignoreLoopbackLatencyJitter()
            try withRolloutProxy(spec) { proxy in
                try withLoad(proxy.port, clients: 2, pause: 0.005) { _ in
                    let (s, met) = try proxy.waitForRollout(timeout: 30) { ["Promoted", "Failed"].contains($0.phase) }
                    #expect(met, "the rollout ended: \(s)")
                }
                // The load has stopped: two more whole seconds sample what was still in flight.
                let stopped = try Document(proxy).now
                var document = try Document(proxy)
                let deadline = Date().addingTimeInterval(5)
                while (document.times.last ?? 0) < stopped.rounded(.down) + 2 && Date() < deadline {
                    usleep(100_000)
                    document = try Document(proxy)
                }
                let times = document.times
                #expect(times.count >= 4, "one sample a second: \(times)")
                #expect(zip(times, times.dropFirst()).allSatisfy { $1 > $0 }, "increasing: \(times)")
                #expect(times.allSatisfy { $0 == $0.rounded(.down) }, "whole seconds: \(times)")
                #expect(document.total("primary", "ok") == primary.requestCount, "primary: \(document.samples)")
                #expect(document.total("canary", "ok") == canary.requestCount, "canary: \(document.samples)")
                #expect(document.total("canary", "5xx") == 0 && document.total("primary", "abort") == 0)
                let weights = document.samples.map { ($0["weight"] as? NSNumber)?.intValue ?? -1 }
                #expect(weights.contains { $0 > 0 && $0 < 100 }, "a step's weight was sampled: \(weights)")
                #expect(weights.last == (try proxy.rollout().routeWeight), "the last sample has the route's weight now: \(weights)")
                // A response's status and its latency are two counters recorded one after the other: a sample
                // taken between them has the status without the latency (p50 null), and the next one the latency.
                let answered = document.samples.map { document.arm($0, "canary") }.filter { ($0["ok"] as? NSNumber)?.intValue ?? 0 > 0 }
                let timed = answered.filter { $0["p50"] is NSNumber }
                #expect(timed.count * 2 >= answered.count, "latency in most seconds with responses: \(answered)")
                for canaryArm in timed {
                    let p50 = try #require((canaryArm["p50"] as? NSNumber)?.doubleValue)
                    let p99 = try #require((canaryArm["p99"] as? NSNumber)?.doubleValue, "p99 beside p50: \(canaryArm)")
                    #expect(p50 > 0 && p99 >= p50, "\(canaryArm)")
                }
                #expect(answered.allSatisfy { (($0["rps"] as? NSNumber)?.doubleValue ?? 0) > 0 }, "\(answered)")

                let sequence = document.events.map { ($0["seq"] as? NSNumber)?.intValue ?? 0 }
                #expect(!sequence.isEmpty && sequence == sequence.sorted(), "events by sequence: \(sequence)")
                let steps = document.events.filter { ($0["line"] as? String)?.contains("weight=25") == true }
                #expect(steps.contains { $0["severity"] as? String == "info" && $0["route"] as? String == "web" }, "\(document.events)")

                // `since`: only what came after.
                let cut = times[times.count / 2]
                let later = try Document(proxy, since: cut)
                // A sample may have come since `document` was read: compared up to `document`'s last one.
                let last = times.last ?? 0
                #expect(later.times.filter { $0 <= last } == times.filter { $0 > cut }, "samples after \(cut): \(later.times)")
                let eventTimes = later.events.map { ($0["t"] as? NSNumber)?.doubleValue ?? 0 }
                #expect(eventTimes.allSatisfy { $0 > cut }, "events after \(cut): \(eventTimes)")
                #expect(try Document(proxy, since: document.now + 60).samples.isEmpty)
            }
        }

        @Test func aBadSinceOrAnotherMethodIsRefused() throws {
            let primary = try TestUpstream.arm("primary", text: "v1")
            let canary = try TestUpstream.arm("canary", text: "v2")
            defer { primary.stop(); canary.stop() }
            try withRolloutProxy(RolloutSpec(primary: primary, canary: canary)) { proxy in
                let bad = try proxy.admin("/timeline?since=yesterday")
                #expect(bad.status == 400 && bad.text.contains("since"), "\(bad.status) \(bad.text)")
                #expect(try proxy.adminPost("/timeline").status == 405)
            }
        }
    }
}
