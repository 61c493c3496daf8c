// GET /metrics on the admin listener: exact per-arm counts and histograms, failures by source, reloads, promtool-clean text.
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// One sample line of the Prometheus text format 0.0.4.
struct PromSample: CustomStringConvertible {
    var name: String
    var labels: [String: String]
    var value: Double

    var description: String {
        "\(name){\(labels.keys.sorted().map { "\($0)=\(labels[$0]!.debugDescription)" }.joined(separator: ","))} \(value)"
    }
}

/// A scrape parsed just enough for the tests: samples, and the `# TYPE` of each family.
struct PromText {
    var text: String
    var samples: [PromSample] = []
    var types: [String: String] = [:]

    struct ParseError: Error, CustomStringConvertible {
        var description: String
    }

    init(_ text: String) throws {
        self.text = text
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            let line = String(raw)
            if line.hasPrefix("#") {
                let words = line.split(separator: " ", maxSplits: 3).map(String.init)
                if words.count >= 4 && words[1] == "TYPE" { types[words[2]] = words[3] }
                continue
            }
            guard let sample = Self.parseSample(line) else {
                throw ParseError(description: "line \(index + 1) is not a sample: \(line.debugDescription)")
            }
            samples.append(sample)
        }
    }

    /// `name{a="x",b="y"} value [timestamp]`, label values with `\\`, `\"` and `\n` escapes.
    static func parseSample(_ line: String) -> PromSample? {
        let chars = Array(line)
        var i = 0
        var name = ""
        while i < chars.count, chars[i] != "{", chars[i] != " " { name.append(chars[i]); i += 1 }
        guard !name.isEmpty, i < chars.count else { return nil }
        var labels: [String: String] = [:]
        if chars[i] == "{" {
            i += 1
            while i < chars.count, chars[i] != "}" {
                var key = ""
                while i < chars.count, chars[i] != "=" { key.append(chars[i]); i += 1 }
                guard i + 1 < chars.count, chars[i + 1] == "\"" else { return nil }
                i += 2
                var value = ""
                while i < chars.count, chars[i] != "\"" {
                    if chars[i] == "\\", i + 1 < chars.count {
                        i += 1
                        value.append(chars[i] == "n" ? "\n" : chars[i])
                    } else {
                        value.append(chars[i])
                    }
                    i += 1
                }
                guard i < chars.count else { return nil }
                i += 1  // closing quote
                labels[key.trimmingCharacters(in: .whitespaces)] = value
                if i < chars.count, chars[i] == "," { i += 1 }
            }
            guard i < chars.count else { return nil }
            i += 1  // }
        }
        let rest = String(chars[i...]).split(separator: " ")
        guard let first = rest.first, let value = parseValue(String(first)) else { return nil }
        return PromSample(name: name, labels: labels, value: value)
    }

    static func parseValue(_ text: String) -> Double? {
        switch text {
        case "+Inf": return .infinity
        case "-Inf": return -.infinity
        case "NaN": return .nan
        default: return Double(text)
        }
    }

    /// Samples of `name` whose labels include `labels`.
    func samples(_ name: String, _ labels: [String: String] = [:]) -> [PromSample] {
        samples.filter { sample in sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value } }
    }

    /// The value of the one sample of `name` whose labels include `labels`; nil if none (several is an error).
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        let found = samples(name, labels)
        if found.count > 1 { Issue.record("\(found.count) samples match \(name) \(labels): \(found)") }
        return found.first?.value
    }

    /// Sum over the samples of `name` whose labels include `labels` (0 when there are none).
    func sum(_ name: String, _ labels: [String: String] = [:]) -> Double {
        samples(name, labels).reduce(0) { $0 + $1.value }
    }
}

extension Integration {
    @Suite("Metrics")
    struct Metrics {
        static let requests = "canarygate_requests_total"
        static let duration = "canarygate_request_duration_seconds"
        static let failures = "canarygate_upstream_failures_total"
        static let reloads = "canarygate_config_reloads_total"

        struct ScrapeError: Error, CustomStringConvertible {
            var description: String
        }

        /// `GET /metrics`, checked for 200 and parsed.
        static func scrape(_ proxy: ProxyProcess) throws -> PromText {
            let response = try proxy.admin("/metrics")
            guard response.status == 200 else {
                throw ScrapeError(description: "GET /metrics on the admin listener: \(response.status) \(response.text)")
            }
            return try PromText(response.text)
        }

        /// Scrapes until `done` holds (bounded): a response is counted just after its last byte is sent,
        /// so a scrape right after the client read it may miss it by microseconds.
        static func scrape(_ proxy: ProxyProcess, timeout: Double = 2, until done: (PromText) -> Bool) throws -> PromText {
            let deadline = Date().addingTimeInterval(timeout)
            var metrics = try scrape(proxy)
            while !done(metrics) && Date() < deadline {
                usleep(20_000)
                metrics = try scrape(proxy)
            }
            return metrics
        }

        /// Sends `count` requests on one keep-alive connection; counts the answering arm by body.
        static func send(_ proxy: ProxyProcess, count: Int, path: String = "/") throws -> [String: Int] {
            let client = try proxy.client()
            defer { client.close() }
            var arms: [String: Int] = [:]
            for i in 0..<count {
                let response = try client.get("\(path)?i=\(i)")
                try #require(response.status == 200, "request \(i): \(response.status) \(response.text)")
                arms[response.text, default: 0] += 1
            }
            return arms
        }

        /// The histogram of one route and arm: buckets sorted by `le`, cumulative, `+Inf` last and equal to `_count`.
        static func checkHistogram(
            _ metrics: PromText, route: String, arm: String, expectedCount: Int,
            sourceLocation: SourceLocation = #_sourceLocation
        ) {
            let labels = ["route": route, "arm": arm]
            let buckets = metrics.samples(duration + "_bucket", labels)
                .compactMap { sample in sample.labels["le"].flatMap(PromText.parseValue).map { (le: $0, count: sample.value) } }
                .sorted { $0.le < $1.le }
            let count = metrics.value(duration + "_count", labels)
            let sum = metrics.value(duration + "_sum", labels)
            #expect(
                count == Double(expectedCount),
                "\(duration)_count \(labels) = \(count.map { "\($0)" } ?? "missing"), want \(expectedCount)",
                sourceLocation: sourceLocation)
            guard buckets.count >= 2 else {
                Issue.record("\(duration)_bucket \(labels): \(buckets.count) buckets", sourceLocation: sourceLocation)
                return
            }
            #expect(Set(buckets.map(\.le)).count == buckets.count, "duplicate le values: \(buckets)", sourceLocation: sourceLocation)
            #expect(buckets.last?.le == .infinity, "no le=\"+Inf\" bucket: \(buckets)", sourceLocation: sourceLocation)
            #expect(
                buckets.last?.count == count, "+Inf bucket \(buckets.last!.count) != _count \(count ?? -1)", sourceLocation: sourceLocation)
            let decreasing = zip(buckets, buckets.dropFirst()).filter { $0.count > $1.count }
            #expect(
                decreasing.isEmpty, "buckets not cumulative at le \(decreasing.map { "\($0.le)→\($1.le)" })",
                sourceLocation: sourceLocation)
            #expect(buckets.allSatisfy { $0.count >= 0 && $0.count.rounded() == $0.count }, sourceLocation: sourceLocation)
            if let sum, expectedCount > 0 {
                // Loopback requests to an immediate upstream: well under 0.5 s each, and not zero.
                #expect(
                    sum > 0 && sum < Double(expectedCount) * 0.5, "\(duration)_sum \(labels) = \(sum) for \(expectedCount) requests",
                    sourceLocation: sourceLocation)
            } else if sum == nil {
                Issue.record("\(duration)_sum \(labels) missing", sourceLocation: sourceLocation)
            }
        }

        @Test func requestCountsAndHistogramsMatchTheSplitExactly() throws {
            let primary = try TestUpstream(name: "primary", text: "primary")
            let canary = try TestUpstream(name: "canary", text: "canary")
            defer { primary.stop(); canary.stop() }
            let n = 500
            try withProxy(.single(primary: primary, canary: canary, weight: 20), threads: 1) { proxy in
                let arms = try Self.send(proxy, count: n)
                let primaryCount = arms["primary"] ?? 0, canaryCount = arms["canary"] ?? 0
                #expect(primaryCount + canaryCount == n)
                #expect((99...101).contains(canaryCount), "\(canaryCount) of \(n) went to the canary at weight 20")

                let metrics = try Self.scrape(proxy) { $0.sum(Self.requests, ["route": "web"]) >= Double(n) }
                #expect(metrics.types[Self.requests] == "counter", "TYPE of \(Self.requests): \(metrics.types[Self.requests] ?? "none")")
                #expect(metrics.types[Self.duration] == "histogram", "TYPE of \(Self.duration): \(metrics.types[Self.duration] ?? "none")")
                let p200 = metrics.value(Self.requests, ["route": "web", "arm": "primary", "code": "200"])
                let c200 = metrics.value(Self.requests, ["route": "web", "arm": "canary", "code": "200"])
                #expect(p200 == Double(primaryCount), "primary code 200: \(p200.map { "\($0)" } ?? "missing"), clients saw \(primaryCount)")
                #expect(c200 == Double(canaryCount), "canary code 200: \(c200.map { "\($0)" } ?? "missing"), clients saw \(canaryCount)")
                #expect(
                    metrics.sum(Self.requests, ["route": "web"]) == Double(n),
                    "requests_total of route web: \(metrics.samples(Self.requests, ["route": "web"]))")
                #expect(
                    metrics.samples(Self.requests).allSatisfy { ["primary", "canary"].contains($0.labels["arm"] ?? "") },
                    "arm labels: \(metrics.samples(Self.requests))")

                Self.checkHistogram(metrics, route: "web", arm: "primary", expectedCount: primaryCount)
                Self.checkHistogram(metrics, route: "web", arm: "canary", expectedCount: canaryCount)
                #expect(metrics.sum(Self.failures, ["route": "web"]) == 0, "failures: \(metrics.samples(Self.failures))")
            }
        }

        @Test func refusedCanaryIsCounted502AndAConnectRefusedFailureOfTheCanary() throws {
            let primary = try TestUpstream(name: "primary", text: "primary")
            defer { primary.stop() }
            let closedPort = try Posix.freePort()
            let config = ProxyConfig(routes: [
                RouteSpec(
                    primary: ArmSpec("v1", primary), canary: ArmSpec("v2", ["127.0.0.1:\(closedPort)"]),
                    weight: 100)
            ])
            try withProxy(config, threads: 1) { proxy in
                let response = try proxy.fetch(HTTPText.request())
                #expect(response.status == 502, "\(response.status) \(response.text)")

                let canary = ["route": "web", "arm": "canary"]
                let metrics = try Self.scrape(proxy) {
                    ($0.value(Self.failures, canary.merging(["source": "connect_refused"]) { $1 }) ?? 0) >= 2
                }
                let c502 = metrics.value(Self.requests, canary.merging(["code": "502"]) { $1 })
                #expect(c502 == 1, "canary code 502: \(c502.map { "\($0)" } ?? "missing"); all: \(metrics.samples(Self.requests))")
                // Failures count attempts: the refusal, and that of its retry on the arm's only endpoint.
                // The request is one failed response (its 502), not two.
                let refused = metrics.value(Self.failures, canary.merging(["source": "connect_refused"]) { $1 })
                #expect(
                    refused == 2,
                    "connect_refused failures of the canary: \(refused.map { "\($0)" } ?? "missing"); all: \(metrics.samples(Self.failures))"
                )
                #expect(metrics.value("canarygate_retries_total", canary) == 1)
                #expect(metrics.value("canarygate_retried_failures_total", canary) == 0)
                #expect(metrics.types[Self.failures] == "counter")
                #expect(metrics.sum(Self.requests, ["route": "web", "arm": "primary"]) == 0)
                #expect(metrics.sum(Self.failures, ["arm": "primary"]) == 0)
                #expect(metrics.sum(Self.requests, canary) == 1, "\(metrics.samples(Self.requests))")
                Self.checkHistogram(metrics, route: "web", arm: "canary", expectedCount: 1)
            }
        }

        @Test func aClientThatStopsSendingItsBodyIsADownstreamAbortNotAnUpstreamTimeout() throws {
            let upstream = try TestUpstream(text: "never reached")
            defer { upstream.stop() }
            // The upstream waits for a body that never comes: its silence is the client's doing.
            let config = ProxyConfig.single(primary: upstream, timeouts: ["upstreamResponse": "300ms", "requestBody": "1s"])
            try withProxy(config, threads: 1) { proxy in
                let client = try RawClient(port: proxy.port, timeout: 5)
                try client.send("POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: 100\r\n\r\n0123456789")
                // No 504 (that would blame the upstream): a 408 once a timeouts.requestBody window brought nothing.
                let answer = Result { try client.readResponse() }
                #expect((try? answer.get())?.status == 408, "\(answer)")

                let web = ["route": "web", "arm": "primary"]
                let metrics = try Self.scrape(proxy) { ($0.value("canarygate_downstream_aborts_total", web) ?? 0) >= 1 }
                #expect(metrics.value("canarygate_downstream_aborts_total", web) == 1)
                #expect(metrics.sum(Self.failures, web) == 0, "\(metrics.samples(Self.failures))")
                #expect(metrics.sum(Self.requests, web) == 0, "\(metrics.samples(Self.requests))")
            }
        }

        @Test func scrapePassesPromtoolCheckMetrics() throws {
            let promtool = "/usr/bin/promtool"
            try #require(
                FileManager.default.isExecutableFile(atPath: promtool),
                "\(promtool) is missing: install the Debian package `prometheus` (apt-get install -y prometheus), as .ci/run does")
            let primary = try TestUpstream(name: "primary", text: "primary")
            let canary = try TestUpstream(name: "canary", text: "canary")
            defer { primary.stop(); canary.stop() }
            let closedPort = try Posix.freePort()
            let config = ProxyConfig(routes: [
                RouteSpec("web", primary: ArmSpec("v1", primary), canary: ArmSpec("v2", canary), weight: 30),
                RouteSpec(
                    "broken", pathPrefix: "/broken", primary: ArmSpec("v1", primary),
                    canary: ArmSpec("v2", ["127.0.0.1:\(closedPort)"]), weight: 100),
            ])
            try withProxy(config, threads: 2) { proxy in
                _ = try Self.send(proxy, count: 50)
                _ = try proxy.fetch(HTTPText.request("GET", "/broken"))
                let keptOpen = try proxy.client()  // an open connection while scraping
                #expect(try keptOpen.get("/").status == 200)

                let metrics = try Self.scrape(proxy) { $0.sum(Self.requests) >= 52 }
                let checked = try ChildProcess.run(promtool, ["check", "metrics"], stdin: metrics.text)
                #expect(
                    checked.status == 0 && (checked.stdout + checked.stderr).trimmingCharacters(in: .whitespacesAndNewlines).isEmpty,
                    "promtool check metrics: exit \(checked.status)\n\(checked.stdout)\(checked.stderr)\n--- scraped text:\n\(metrics.text.prefix(4096))"
                )

                #expect(metrics.value("canarygate_build_info") == 1, "build_info: \(metrics.samples("canarygate_build_info"))")
                #expect(metrics.types["canarygate_active_connections"] == "gauge")
                #expect(metrics.value("canarygate_active_connections") != nil, "no canarygate_active_connections")
                let loaded = metrics.value("canarygate_config_last_reload_success_timestamp_seconds") ?? 0
                #expect(abs(loaded - Date().timeIntervalSince1970) < 120, "last reload success at unix \(loaded)")
            }
        }

        @Test func contentTypeIsPrometheusTextVersion004() throws {
            let upstream = try TestUpstream(text: "ok")
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream), threads: 1) { proxy in
                let response = try proxy.admin("/metrics")
                #expect(response.status == 200, "\(response.status) \(response.text)")
                let contentType = response.headers["content-type"] ?? ""
                let parameters = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
                #expect(
                    parameters.first == "text/plain" && parameters.contains("version=0.0.4")
                        && parameters.dropFirst().allSatisfy { $0 == "version=0.0.4" || $0.hasPrefix("charset=") },
                    "Content-Type: \(contentType.debugDescription), want text/plain; version=0.0.4")
                #expect(try proxy.adminPost("/metrics").status == 405)
            }
        }

        @Test func countersSurviveAReloadAndReloadsAreCountedByResult() throws {
            let primary = try TestUpstream(name: "primary", text: "primary")
            let canary = try TestUpstream(name: "canary", text: "canary")
            defer { primary.stop(); canary.stop() }
            try withProxy(.single(primary: primary, canary: canary, weight: 0), threads: 1) { proxy in
                #expect(try Self.send(proxy, count: 30) == ["primary": 30])
                let web = ["route": "web"]
                let before = try Self.scrape(proxy) { $0.sum(Self.requests, web) >= 30 }
                let successes = before.value(Self.reloads, ["result": "success"]) ?? 0
                let failures = before.value(Self.reloads, ["result": "failure"]) ?? 0
                #expect(before.types[Self.reloads] == "counter")
                #expect(before.value(Self.requests, ["route": "web", "arm": "primary", "code": "200"]) == 30)
                let startedAt = before.value("canarygate_config_last_reload_success_timestamp_seconds") ?? 0

                // Same route name, new weight: the counts carry on.
                sleep(1)  // so a fresh timestamp (whole seconds) is distinguishable
                try proxy.rewriteConfig(.single(primary: primary, canary: canary, weight: 100))
                #expect(try proxy.reloadBySignal().generation == 2)
                #expect(try Self.send(proxy, count: 10) == ["canary": 10])
                let after = try Self.scrape(proxy) { $0.sum(Self.requests, web) >= 40 }
                #expect(
                    after.value(Self.requests, ["route": "web", "arm": "primary", "code": "200"]) == 30,
                    "primary count after the reload: \(after.samples(Self.requests))")
                #expect(after.value(Self.requests, ["route": "web", "arm": "canary", "code": "200"]) == 10)
                Self.checkHistogram(after, route: "web", arm: "primary", expectedCount: 30)
                Self.checkHistogram(after, route: "web", arm: "canary", expectedCount: 10)
                #expect(
                    after.value(Self.reloads, ["result": "success"]) == successes + 1,
                    "success reloads \(after.value(Self.reloads, ["result": "success"]) ?? -1), before \(successes)")
                #expect(after.value(Self.reloads, ["result": "failure"]) ?? 0 == failures)
                let reloadedAt = after.value("canarygate_config_last_reload_success_timestamp_seconds") ?? 0
                #expect(reloadedAt > startedAt, "last reload success timestamp \(reloadedAt), at start \(startedAt)")

                // A broken file: one more failure, nothing else moves.
                try proxy.rewriteConfig(.single(primary: primary, canary: canary, weight: 150))
                #expect(try proxy.reloadBySignal().failures == 1)
                let refused = try Self.scrape(proxy)
                #expect(
                    refused.value(Self.reloads, ["result": "failure"]) == failures + 1,
                    "failure reloads \(refused.value(Self.reloads, ["result": "failure"]) ?? -1), before \(failures)")
                #expect(refused.value(Self.reloads, ["result": "success"]) == successes + 1)
                #expect(refused.value("canarygate_config_last_reload_success_timestamp_seconds") == reloadedAt)
                #expect(refused.sum(Self.requests, web) == 40)
            }
        }
    }
}
