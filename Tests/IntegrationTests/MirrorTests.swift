// Mirroring over real sockets: a copy to the canary that never slows the client, compared and judged, bounded, safe methods only.
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension Integration {
    @Suite("Mirroring")
    struct Mirroring {
        static let results = "canarygate_mirror_requests_total"
        static let mismatches = "canarygate_mirror_mismatches_total"

        /// A static catch-all route at canary weight 0 whose canary gets the mirror `mirror`.
        static func config(primary: TestUpstream, canary: TestUpstream, mirror: String) -> ProxyConfig {
            var route = RouteSpec(primary: ArmSpec("v1", primary), canary: ArmSpec("v2", canary), weight: 0)
            route.mirror = mirror
            return ProxyConfig(routes: [route])
        }

        static func result(_ metrics: PromText, _ result: String) -> Double {
            metrics.value(results, ["route": "web", "result": result]) ?? -1
        }

        static func mismatch(_ metrics: PromText, _ kind: String) -> Double {
            metrics.value(mismatches, ["route": "web", "kind": kind]) ?? -1
        }

        @Test func aMirrorThatNeverSlowsTheClientWithABodyDifferenceDetected() throws {
            // The canary holds its answer until the test lets it go, which it does only once the client has its
            // whole response: the order of events, not a timing threshold, shows the client did not wait.
            let arrived = DispatchSemaphore(value: 0)
            let release = DispatchSemaphore(value: 0)
            let seen = Guarded<[String]>([])
            let primary = try TestUpstream(name: "primary", text: "from the primary")
            let canary = try TestUpstream(name: "canary") { request in
                seen.withValue { $0.append("\(request.method) \(request.target)") }
                arrived.signal()
                _ = release.wait(timeout: .now() + 10)
                return .text("from the canary")
            }
            defer { release.signal(); primary.stop(); canary.stop() }
            // Ratio 1 and no floor: a mirror answering after the primary at all is a latency mismatch.
            let mirror = "{ weight: 100, compare: { latencyRatio: 1, latencyFloor: 0ms } }"
            try withProxy(Self.config(primary: primary, canary: canary, mirror: mirror)) { proxy in
                let response = try proxy.client().get("/page")
                #expect(response.status == 200 && response.text == "from the primary", "\(response.status) \(response.text)")
                #expect(arrived.wait(timeout: .now() + 5) == .success, "the copy reached the canary")
                let pending = try Metrics.scrape(proxy)
                #expect(Self.result(pending, "completed") == 0, "the mirror is still pending while the client has its answer")
                #expect(seen.value == ["GET /page"])

                release.signal()
                let done = try Metrics.scrape(proxy, timeout: 5) { Self.result($0, "completed") == 1 }
                #expect(Self.result(done, "completed") == 1, "\(done.samples(Self.results))")
                #expect(Self.mismatch(done, "body") == 1 && Self.mismatch(done, "status") == 0 && Self.mismatch(done, "latency") == 1)
                // The mirrored response is counted on the canary's arm, which served no client for it.
                #expect(done.value(Metrics.requests, ["route": "web", "arm": "canary", "code": "200"]) == 1)
                #expect(done.value(Metrics.requests, ["route": "web", "arm": "primary", "code": "200"]) == 1)
                #expect(done.value("canarygate_sent_bytes_total", ["route": "web", "arm": "canary"]) == 0)
            }
        }

        @Test func identicalResponsesCompleteWithoutMismatch() throws {
            let primary = try TestUpstream(name: "primary", text: "same")
            let canary = try TestUpstream(name: "canary") { request in
                request.method == "HEAD"
                    ? .respond(
                        UpstreamResponse(headers: [HTTPField("Content-Type", "text/plain"), HTTPField("Content-Length", "4")], body: .none))
                    : .respond(
                        UpstreamResponse(
                            headers: [HTTPField("Content-Type", "text/plain")], body: .chunked([Array("sa".utf8), Array("me".utf8)])))
            }
            defer { primary.stop(); canary.stop() }
            try withProxy(Self.config(primary: primary, canary: canary, mirror: "{ compare: { latency: false } }")) { proxy in
                let client = try proxy.client()
                for i in 0..<10 {
                    let response = try client.get("/\(i)")
                    #expect(response.status == 200 && response.text == "same")
                }
                let metrics = try Metrics.scrape(proxy, timeout: 5) { Self.result($0, "completed") == 10 }
                #expect(Self.result(metrics, "completed") == 10, "\(metrics.samples(Self.results))")
                for kind in ["status", "body", "latency"] { #expect(Self.mismatch(metrics, kind) == 0, "\(kind)") }
                for other in ["dropped", "skipped", "failed", "timeout"] { #expect(Self.result(metrics, other) == 0, "\(other)") }
                #expect(canary.requestCount == 10 && primary.requestCount == 10)
            }
        }

        @Test func requestsOverHTTP2AreMirroredAndCompared() throws {
            try H2Tools.requirePythonH2()
            let primary = try TestUpstream(name: "primary", text: "same")
            let canary = try TestUpstream(name: "canary") { request in .text(request.path == "/h2/b" ? "other" : "same") }
            defer { primary.stop(); canary.stop() }
            try withProxy(Self.config(primary: primary, canary: canary, mirror: "{ compare: { latency: false } }")) { proxy in
                let h2 = try H2Client.run(
                    "request", port: proxy.port, ["--authority", "example.test", "--path", "/h2/a", "--path", "/h2/b"])
                try #require(h2.ok, "\(h2)")
                #expect(h2.streams.map(\.body) == ["same", "same"], "the client gets the primary's answers")
                let metrics = try Metrics.scrape(proxy, timeout: 5) { Self.result($0, "completed") == 2 }
                #expect(Self.result(metrics, "completed") == 2, "\(metrics.samples(Self.results))")
                #expect(Self.mismatch(metrics, "body") == 1 && Self.mismatch(metrics, "status") == 0)
                #expect(canary.requests.map(\.target).sorted() == ["/h2/a", "/h2/b"])
            }
        }

        @Test func aPostIsMirroredOnlyWhenTheMatchWidensTheRule() throws {
            let primary = try TestUpstream(name: "primary", text: "ok")
            let canary = try TestUpstream(name: "canary", text: "ok")
            defer { primary.stop(); canary.stop() }
            try withProxy(Self.config(primary: primary, canary: canary, mirror: "{ weight: 100 }")) { proxy in
                let client = try proxy.client()
                let post = try client.exchange(HTTPText.request("POST", "/search", text: "q=1"), method: "POST")
                #expect(post.status == 200)
                _ = try client.get("/after")
                #expect(canary.waitForRequests(1))
                _ = try Metrics.scrape(proxy, timeout: 5) { Self.result($0, "completed") == 1 }
                #expect(canary.requests.map(\.method) == ["GET"], "a write is not copied by default: \(canary.requests.map(\.target))")
            }
            let widened = "{ weight: 100, match: [ { method: POST, pathPrefix: /search } ] }"
            try withProxy(Self.config(primary: primary, canary: canary, mirror: widened)) { proxy in
                let before = canary.requestCount
                let client = try proxy.client()
                #expect(try client.exchange(HTTPText.request("POST", "/search", text: "q=2"), method: "POST").status == 200)
                #expect(try client.exchange(HTTPText.request("POST", "/orders", text: "o=1"), method: "POST").status == 200)
                let metrics = try Metrics.scrape(proxy, timeout: 5) { Self.result($0, "completed") == 1 }
                #expect(Self.result(metrics, "completed") == 1, "\(metrics.samples(Self.results))")
                let copies = canary.requests.dropFirst(before)
                #expect(copies.map(\.target) == ["/search"] && copies.first?.bodyText == "q=2", "\(copies.map(\.target))")
                #expect(primary.requests.suffix(2).map(\.target) == ["/search", "/orders"])
            }
        }

        @Test func aFullSlotPoolDropsMirrorsAndTheClientsAreServed() throws {
            let primary = try TestUpstream(name: "primary", text: "ok")
            let canary = try TestUpstream(name: "canary") { _ in .hang(seconds: 10) }
            defer { primary.stop(); canary.stop() }
            var config = Self.config(primary: primary, canary: canary, mirror: "{ maxInFlight: 1 }")
            config.timeouts = ["upstreamResponse": "1s"]
            try withProxy(config, threads: 1) { proxy in
                let client = try proxy.client()
                #expect(try client.get("/1").text == "ok")
                #expect(canary.waitForRequests(1), "the first copy holds the only slot")
                for i in 2...4 { #expect(try client.get("/\(i)").text == "ok") }
                let metrics = try Metrics.scrape(proxy) { Self.result($0, "dropped") == 3 }
                #expect(Self.result(metrics, "dropped") == 3, "\(metrics.samples(Self.results))")
                #expect(Self.result(metrics, "completed") == 0 && Self.result(metrics, "timeout") == 0)
                #expect(canary.requestCount == 1, "dropped, never queued")

                // The canary's silence ends under the route's response timeout: the slot is free again, and the
                // timeout counts on the canary's arm as one of its requests' would.
                let timedOut = try Metrics.scrape(proxy, timeout: 5) { Self.result($0, "timeout") == 1 }
                #expect(Self.result(timedOut, "timeout") == 1, "\(timedOut.samples(Self.results))")
                #expect(timedOut.value(Metrics.failures, ["route": "web", "arm": "canary", "source": "response_timeout"]) == 1)
                #expect(try client.get("/5").text == "ok")
                #expect(canary.waitForRequests(2), "the freed slot takes the next copy")
            }
        }

        @Test func theMismatchJudgeRollsBackACanaryWhoseBodiesDiffer() throws {
            // Both arms healthy and fast; the canary answers another body. Only the mirror sees it.
            let primary = try TestUpstream.arm("primary", text: "v1")
            let canary = try TestUpstream.arm("canary", text: "v2")
            defer { primary.stop(); canary.stop() }
            var spec = RolloutSpec(primary: primary, canary: canary)
            spec.ignoreLoopbackLatencyJitter()
            spec.mirror = "{ weight: 100, maxMismatchPercent: 10, compare: { latency: false } }"
            try withRolloutProxy(spec) { proxy in
                let (s, _, history) = try RolloutEndToEnd.rolloutUntilEnd(proxy)
                #expect(s.phase == "Failed", "\(s)\nsteps: \(history.description)\n\(RolloutEndToEnd.logExcerpt(proxy))")
                RolloutEndToEnd.expectFailedBy(["mirror-mismatch"], s, proxy)
                let metrics = try proxy.metrics()
                #expect((metrics.value(Self.mismatches, ["route": "web", "kind": "body"]) ?? 0) > 0)
                #expect(metrics.value(Self.mismatches, ["route": "web", "kind": "status"]) == 0)
            }
        }
    }
}
