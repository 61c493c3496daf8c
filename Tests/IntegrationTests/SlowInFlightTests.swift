// A canary that hangs requests whose clients wait is slow within T plus a tick, not when the requests end;
// and each hung request is counted slow once, when found in flight, not again when it is answered.
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension Integration {
    @Suite("Slow in flight") struct SlowInFlight {
        /// A managed route held at 25 % (30 s intervals) with a fixed T of 200 ms, the comparison off and no
        /// threshold checks: nothing but the sequential judge's evidence moves while the test watches it.
        static func spec(primary: TestUpstream, canary: TestUpstream) -> RolloutSpec {
            var spec = RolloutSpec(primary: primary, canary: canary)
            spec.interval = "30s"
            spec.progressDeadline = "60s"
            spec.successRateMin = nil
            spec.durationMax = nil
            spec.extraAnalysis = ["sequential: { slowThreshold: 200ms }", "comparison: { enabled: false }"]
            return spec
        }

        static func slowClass(_ proxy: RolloutProxy) -> (canary: Double, primary: Double)? {
            guard let json = try? proxy.statusJSON(),
                let evidence = ((json["routes"] as? [[String: Any]])?.first { $0["name"] as? String == "web" })?["evidence"]
                    as? [String: Any],
                let slow = (evidence["classes"] as? [String: [String: Any]])?["slow"],
                let canary = slow["canary"] as? Double, let primary = slow["primary"] as? Double
            else { return nil }
            return (canary, primary)
        }

        static func waitUntilProgressing(_ proxy: RolloutProxy) throws {
            let (s, met) = try proxy.waitForRollout(timeout: 10) { $0.phase == "Progressing" && $0.weight > 0 }
            try #require(met && s.weight == 25, "the canary takes traffic: \(s)")
        }

        /// Once the `total` hung requests (or streams) are answered: each was counted slow once, not again
        /// at its answer, the primary never, the rollout still judging at 25 %, and /metrics agreeing.
        static func expectEachCountedOnce(_ proxy: RolloutProxy, total: Int, what: String) throws {
            usleep(500_000)
            let slow = try #require(slowClass(proxy))
            #expect(slow.canary == Double(total), "one slow count per hung \(what) (\(total)), not two: \(slow)")
            #expect(slow.primary == 0, "the primary was never slow: \(slow)")
            let s = try proxy.rollout()
            #expect(s.phase == "Progressing" && s.weight == 25, "still judging at 25 % (answers were judged): \(s)")

            let metrics = try proxy.metrics()
            #expect(metrics.value("canarygate_slow_in_flight_total", ["route": "web", "arm": "canary"]) == Double(total))
            #expect(metrics.value("canarygate_slow_in_flight_answered_total", ["route": "web", "arm": "canary"]) == Double(total))
            #expect(metrics.value("canarygate_slow_in_flight_total", ["route": "web", "arm": "primary"]) == 0)
            #expect(metrics.types["canarygate_slow_in_flight_total"] == "counter")
        }

        /// A primary answering at once, and a canary that answers `/hang…` 5 s late (anything else at once).
        static func primaryAndLateCanary() throws -> (TestUpstream, TestUpstream) {
            let primary = try TestUpstream.arm("primary", text: "v1")
            let canary = try TestUpstream(name: "canary") { request in
                guard request.target.hasPrefix("/hang") else { return .text("v2") }
                var late = UpstreamResponse.text("v2 late")
                late.delay = 5
                return .respond(late)
            }
            return (primary, canary)
        }

        /// The canary answers `/hang/…` after 5 s (the primary at once). Patient clients, one connection each,
        /// are sent until four of them wait on the canary. /status shows them slow within 1.5 s of the first,
        /// while none is answered; once they are answered (≈5 s) the slow count is still one per hung request.
        @Test func aHangingCanaryIsSlowBeforeItsRequestsEnd() throws {
            let (primary, canary) = try Self.primaryAndLateCanary()
            defer { primary.stop(); canary.stop() }
            try withRolloutProxy(Self.spec(primary: primary, canary: canary)) { proxy in
                try Self.waitUntilProgressing(proxy)
                #expect(Self.slowClass(proxy)?.canary == 0)
                let hung = { canary.requests.filter { $0.target.hasPrefix("/hang") }.count }
                let answers = Guarded<[String]>([])
                let clients = DispatchGroup()
                var firstHungAt: Date?
                var sent = 0
                let port = proxy.port
                while hung() < 4 && sent < 200 {
                    sent += 1
                    let target = "/hang/\(sent)"
                    clients.enter()
                    Thread {
                        defer { clients.leave() }
                        let text: String
                        do {
                            let client = try RawClient(port: port, timeout: 10)
                            defer { client.close() }
                            let response = try client.get(target)
                            text = "\(response.status) \(response.text)"
                        } catch {
                            text = "error \(error)"
                        }
                        answers.withValue { $0.append(text) }
                    }.start()
                    usleep(10_000)
                    if firstHungAt == nil && hung() > 0 { firstHungAt = Date() }
                }
                let started = try #require(firstHungAt, "no request reached the canary in \(sent)")

                // Seen slow while in flight: T (200 ms) + a sweep (100 ms) + a control tick (100 ms), well under 1.5 s.
                var seenAt: Date?
                while seenAt == nil && Date().timeIntervalSince(started) < 4 {
                    if let slow = Self.slowClass(proxy), slow.canary > 0 { seenAt = Date() } else { usleep(50_000) }
                }
                let lateAnswers = answers.value.filter { $0.contains("v2 late") }.count
                let seen = try #require(seenAt, "slow.canary still 0 after 4 s: \(String(describing: Self.slowClass(proxy)))")
                #expect(
                    seen.timeIntervalSince(started) < 1.5, "slow seen \(seen.timeIntervalSince(started)) s after the first hung request")
                #expect(lateAnswers == 0, "counted slow while the canary's requests were in flight (answered: \(lateAnswers))")

                // The hung requests are answered at 5 s; a few ticks later each is still counted once.
                #expect(clients.wait(timeout: .now() + 12) == .success, "clients done: \(answers.value)")
                let total = hung()
                #expect(answers.value.filter { $0 == "200 v2 late" }.count == total, "every hung request answered 200: \(answers.value)")
                try Self.expectEachCountedOnce(proxy, total: total, what: "request")
            }
        }

        /// HTTP/2: the same canary, reached by h2c (prior knowledge) clients of four streams each, sent until
        /// four streams wait on the canary. Each hung stream is found by the loop's sweep of its connection's
        /// streams: /status shows slow within 1.5 s of the first, while none is answered (the canary answers
        /// 5 s after each arrives); once answered, the slow count is still one per hung stream.
        @Test func aHangingCanaryIsSlowBeforeItsHTTP2StreamsEnd() throws {
            let (primary, canary) = try Self.primaryAndLateCanary()
            defer { primary.stop(); canary.stop() }
            try withRolloutProxy(Self.spec(primary: primary, canary: canary)) { proxy in
                try Self.waitUntilProgressing(proxy)
                #expect(Self.slowClass(proxy)?.canary == 0)
                let hung = { canary.requests.filter { $0.target.hasPrefix("/hang") }.count }
                var clients: [H2Client] = []
                var firstHungAt: Date?
                let sendingSince = Date()
                while hung() < 4 && clients.count < 40 && Date().timeIntervalSince(sendingSince) < 3 {
                    let n = clients.count
                    let paths = (1...4).flatMap { ["--path", "/hang/\(n)-\($0)"] }
                    clients.append(try H2Client("request", port: proxy.port, paths + ["--timeout", "15"], timeout: 20))
                    // Until this client's streams have arrived (the primary's answered at once), noting the first hung one.
                    let before = primary.requests.count + hung()
                    let deadline = Date().addingTimeInterval(1)
                    while Date() < deadline {
                        if firstHungAt == nil && hung() > 0 { firstHungAt = Date() }
                        if primary.requests.count + hung() >= before + 4 { break }
                        usleep(5_000)
                    }
                    if firstHungAt == nil && hung() > 0 { firstHungAt = Date() }
                }
                let started = try #require(firstHungAt, "no stream reached the canary in \(clients.count) clients")

                // Seen slow while in flight: T (200 ms) + a sweep (100 ms) + a control tick (100 ms), well under 1.5 s;
                // the canary answers each hung stream 5 s after it arrived, so none is answered yet.
                var seenAt: Date?
                while seenAt == nil && Date().timeIntervalSince(started) < 4 {
                    if let slow = Self.slowClass(proxy), slow.canary > 0 { seenAt = Date() } else { usleep(50_000) }
                }
                let seen = try #require(seenAt, "slow.canary still 0 after 4 s: \(String(describing: Self.slowClass(proxy)))")
                #expect(seen.timeIntervalSince(started) < 1.5, "slow seen \(seen.timeIntervalSince(started)) s after the first hung stream")

                // The hung streams are answered at 5 s; a few ticks later each is still counted once.
                let runs = clients.map { $0.finish() }
                clients.removeAll()
                for run in runs { #expect(run.ok, "\(run)") }
                let streams = runs.flatMap(\.streams)
                let total = hung()
                #expect(streams.count == 4 * runs.count && streams.allSatisfy { $0.succeeded() }, "every stream answered 200: \(streams)")
                #expect(streams.filter { $0.body == "v2 late" }.count == total, "every hung stream answered late: \(streams)")
                try Self.expectEachCountedOnce(proxy, total: total, what: "stream")
            }
        }

        /// The same route with a canary that answers at once: nothing is slow on either arm.
        @Test func aFastCanaryIsNeverSlow() throws {
            let primary = try TestUpstream.arm("primary", text: "v1")
            let canary = try TestUpstream.arm("canary", text: "v2")
            defer { primary.stop(); canary.stop() }
            try withRolloutProxy(Self.spec(primary: primary, canary: canary)) { proxy in
                try Self.waitUntilProgressing(proxy)
                try withLoad(proxy.port) { load in
                    usleep(1_500_000)
                    load.stop()
                    #expect(load.count(body: "v2") > 0 && load.count(body: "v1") > 0, "both arms served: \(load.statusCounts)")
                }
                usleep(300_000)
                let slow = try #require(Self.slowClass(proxy))
                let metrics = try proxy.metrics()
                #expect(
                    slow.canary == 0 && slow.primary == 0,
                    "slow class: \(slow); \(metrics.samples.filter { $0.name.contains("slow") || $0.name.contains("duration_seconds_bucket") && $0.labels["arm"] == "primary" && ["0.1", "0.25", "+Inf"].contains($0.labels["le"] ?? "") })"
                )
                #expect(metrics.value("canarygate_slow_in_flight_total", ["route": "web", "arm": "canary"]) == 0)
            }
        }
    }
}
