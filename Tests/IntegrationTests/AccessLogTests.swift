// `accessLog:` over real sockets: a line per request with its arm, route, endpoint and failure, sampling, SIGUSR1 and a reload.
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension Integration {
    @Suite("Access log")
    struct AccessLog {
        /// The log file's complete lines, polled (bounded) until `count` are there: the writer drains every
        /// 50 ms, and a read can land between two of its writes, so a last line without its newline is left out.
        static func lines(_ path: String, atLeast count: Int, timeout: Double = 5) -> [String] {
            let deadline = Date().addingTimeInterval(timeout)
            var lines: [String] = []
            repeat {
                let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
                let complete = text.lastIndex(of: "\n").map { text[...$0] } ?? ""
                lines = complete.split(separator: "\n").map(String.init)
                if lines.count >= count { return lines }
                usleep(20_000)
            } while Date() < deadline
            return lines
        }

        static func objects(_ lines: [String]) throws -> [[String: Any]] {
            try lines.map { line in
                try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not a JSON object: \(line)")
            }
        }

        /// A closed local port: connections to it are refused.
        static func deadEndpoint() throws -> String { "127.0.0.1:\(try Posix.freePort())" }

        @Test func eachRequestIsALineWithItsArmRouteEndpointAndFailure() throws {
            let primary = try TestUpstream(name: "primary", text: "primary")
            let canary = try TestUpstream(name: "canary", text: "canary")
            defer { primary.stop(); canary.stop() }
            let dir = try TempDir.make()
            defer { dir.remove() }
            let path = dir.url.appendingPathComponent("access.log").path
            var config = ProxyConfig(routes: [
                RouteSpec("stable", pathPrefix: "/p", primary: ArmSpec("v1", primary)),
                RouteSpec("rolling", pathPrefix: "/c", primary: ArmSpec("v1", primary), canary: ArmSpec("v2", canary), weight: 100),
                RouteSpec("dead", pathPrefix: "/dead", primary: ArmSpec("v1", [try Self.deadEndpoint()])),
            ])
            config.accessLog = "{ path: \"\(path)\" }"
            try withProxy(config, threads: 1) { proxy in
                let client = try proxy.client()
                defer { client.close() }
                let first = try client.get(
                    "/p/one?x=1", headers: [HTTPField("User-Agent", "tester \"quoted\""), HTTPField("Referer", "http://ref.test/")])
                #expect(first.status == 200)
                #expect(try client.get("/c/two").status == 200)
                #expect(try proxy.fetch(HTTPText.request("GET", "/nowhere")).status == 404)
                #expect(try proxy.fetch(HTTPText.request("GET", "/dead/x")).status == 502)

                let records = try Self.objects(Self.lines(path, atLeast: 4))
                try #require(records.count == 4, "\(records)")
                let byPath = Dictionary(uniqueKeysWithValues: records.map { ($0["path"] as? String ?? "", $0) })
                let p = try #require(byPath["/p/one?x=1"])
                #expect(p["method"] as? String == "GET" && p["protocol"] as? String == "HTTP/1.1" && p["status"] as? Int == 200)
                #expect(p["route"] as? String == "stable" && p["arm"] as? String == "primary" && p["revision"] as? String == "v1")
                #expect(p["upstream"] as? String == primary.endpoint && p["failure"] as? String == "-")
                #expect(p["client"] as? String == "127.0.0.1")
                #expect(p["user_agent"] as? String == "tester \"quoted\"" && p["referer"] as? String == "http://ref.test/")
                #expect((p["bytes"] as? Int ?? 0) > "primary".count)
                #expect(p["duration_ms"] is Double)
                let time = try #require(p["time"] as? String)
                #expect(time.count == 24 && time.hasSuffix("Z"), "\(time)")
                let c = try #require(byPath["/c/two"])
                #expect(c["arm"] as? String == "canary" && c["revision"] as? String == "v2" && c["upstream"] as? String == canary.endpoint)
                let none = try #require(byPath["/nowhere"])
                #expect(none["status"] as? Int == 404 && none["route"] as? String == "-" && none["arm"] as? String == "none")
                #expect(none["failure"] as? String == "no_route" && none["upstream"] as? String == "-")
                let dead = try #require(byPath["/dead/x"])
                #expect(
                    dead["status"] as? Int == 502 && dead["route"] as? String == "dead" && dead["failure"] as? String == "connect_refused")
            }
        }

        @Test func anInvalidHeadIsALineWithoutARequest() throws {
            let upstream = try TestUpstream(text: "ok")
            defer { upstream.stop() }
            let dir = try TempDir.make()
            defer { dir.remove() }
            let path = dir.url.appendingPathComponent("access.log").path
            var config = ProxyConfig.single(primary: upstream)
            config.accessLog = "{ path: \"\(path)\", format: combined }"
            try withProxy(config, threads: 1) { proxy in
                let response = try proxy.fetch(Array("GET / HTTP/1.1\r\nHost: a\r\nno colon here\r\n\r\n".utf8))
                #expect(response.status == 400)
                let line = try #require(Self.lines(path, atLeast: 1).first)
                #expect(line.contains("] \"-\" 400 0 \"-\" \"-\" route=- arm=none rev=- upstream=- duration="), "\(line)")
                #expect(line.hasSuffix(" failure=invalid_request"), "\(line)")
                #expect(upstream.requestCount == 0)
            }
        }

        @Test func anHTTP2StreamIsALine() throws {
            let upstream = try TestUpstream(name: "primary", text: "h2 ok")
            defer { upstream.stop() }
            let dir = try TempDir.make()
            defer { dir.remove() }
            let path = dir.url.appendingPathComponent("access.log").path
            var config = ProxyConfig(routes: [RouteSpec("web", primary: ArmSpec("v1", upstream))])
            config.accessLog = "{ path: \"\(path)\" }"
            try withProxy(config) { proxy in
                let run = try H2Client.run(
                    "request", port: proxy.port,
                    ["--authority", "example.test", "--path", "/h2/path?q=1", "--header", "user-agent: h2itest"])
                try #require(run.ok, "\(run)")
                let records = try Self.objects(Self.lines(path, atLeast: 1))
                let line = try #require(records.first)
                #expect(line["protocol"] as? String == "HTTP/2.0" && line["path"] as? String == "/h2/path?q=1", "\(line)")
                #expect(line["status"] as? Int == 200 && line["arm"] as? String == "primary" && line["user_agent"] as? String == "h2itest")
            }
        }

        @Test func aClientAbortIsALine() throws {
            let upstream = try TestUpstream { _ in .hang(seconds: 10) }
            defer { upstream.stop() }
            let dir = try TempDir.make()
            defer { dir.remove() }
            let path = dir.url.appendingPathComponent("access.log").path
            var config = ProxyConfig.single(primary: upstream)
            config.accessLog = "{ path: \"\(path)\", format: combined }"
            try withProxy(config, threads: 1) { proxy in
                let client = try proxy.client(timeout: 3)
                try client.send(HTTPText.request("GET", "/hang"))
                try #require(upstream.waitForRequests(1, timeout: 3), "the request never reached the upstream")
                client.close()
                let line = try #require(Self.lines(path, atLeast: 1).first)
                #expect(line.hasPrefix("127.0.0.1 - - ["), "\(line)")
                #expect(line.contains("] \"GET /hang HTTP/1.1\" 499 0 \"-\" \"-\" route=web arm=primary rev=v1 upstream="), "\(line)")
                #expect(line.hasSuffix(" failure=downstream_abort"), "\(line)")
            }
        }

        /// One loop, `sample: 0.1`: exactly a tenth of 100 successes, and every one of 5 failures.
        @Test func samplingKeepsEveryFailure() throws {
            let upstream = try TestUpstream(text: "ok")
            defer { upstream.stop() }
            let dir = try TempDir.make()
            defer { dir.remove() }
            let path = dir.url.appendingPathComponent("access.log").path
            var config = ProxyConfig(routes: [
                RouteSpec("web", pathPrefix: "/ok", primary: ArmSpec("v1", upstream)),
                RouteSpec("dead", pathPrefix: "/dead", primary: ArmSpec("v1", [try Self.deadEndpoint()])),
            ])
            config.accessLog = "{ path: \"\(path)\", sample: 0.1 }"
            try withProxy(config, threads: 1) { proxy in
                let client = try proxy.client()
                defer { client.close() }
                for i in 0..<100 { #expect(try client.get("/ok/\(i)").status == 200) }
                for _ in 0..<5 { #expect(try proxy.fetch(HTTPText.request("GET", "/dead")).status == 502) }
                let records = try Self.objects(Self.lines(path, atLeast: 15))
                let statuses = records.map { $0["status"] as? Int ?? 0 }
                #expect(statuses.filter { $0 == 200 }.count == 10, "\(statuses)")
                #expect(statuses.filter { $0 == 502 }.count == 5, "\(statuses)")
                let metrics = try Metrics.scrape(proxy, until: { ($0.value("canarygate_access_log_written_total") ?? 0) >= 15 })
                #expect(metrics.value("canarygate_access_log_written_total") == 15)
                #expect(metrics.value("canarygate_access_log_dropped_total") == 0)
            }
        }

        /// logrotate's way: the file is moved away, SIGUSR1 sent; new lines go to a new file at the path.
        @Test func sigusr1ReopensTheFileAfterItWasMoved() throws {
            let upstream = try TestUpstream(text: "ok")
            defer { upstream.stop() }
            let dir = try TempDir.make()
            defer { dir.remove() }
            let path = dir.url.appendingPathComponent("access.log").path
            let rotated = path + ".1"
            var config = ProxyConfig.single(primary: upstream)
            config.accessLog = "{ path: \"\(path)\" }"
            try withProxy(config, threads: 1) { proxy in
                #expect(try proxy.fetch(HTTPText.request("GET", "/before")).status == 200)
                try #require(Self.lines(path, atLeast: 1).count == 1)
                try #require(rename(path, rotated) == 0)
                proxy.signal(SIGUSR1)
                // The reopen happens on the writer's next round: poll for the new file before the next request.
                let deadline = Date().addingTimeInterval(5)
                while !FileManager.default.fileExists(atPath: path) && Date() < deadline { usleep(10_000) }
                #expect(try proxy.fetch(HTTPText.request("GET", "/after")).status == 200)
                let after = Self.lines(path, atLeast: 1)
                #expect(after.count == 1 && after[0].contains("\"/after\""), "\(after)")
                let before = Self.lines(rotated, atLeast: 1)
                #expect(before.count == 1 && before[0].contains("\"/before\""), "\(before)")
            }
        }

        @Test func aReloadSwitchesJSONToCombined() throws {
            let upstream = try TestUpstream(text: "ok")
            defer { upstream.stop() }
            let dir = try TempDir.make()
            defer { dir.remove() }
            let path = dir.url.appendingPathComponent("access.log").path
            var config = ProxyConfig.single(primary: upstream)
            config.accessLog = "{ path: \"\(path)\", format: json }"
            try withProxy(config, threads: 1) { proxy in
                #expect(try proxy.fetch(HTTPText.request("GET", "/json")).status == 200)
                try #require(Self.lines(path, atLeast: 1).count == 1)
                config.accessLog = "{ path: \"\(path)\", format: combined }"
                try proxy.rewriteConfig(config)
                let state = try proxy.reloadBySignal()
                try #require(state.lastError == nil, "\(state)")
                #expect(try proxy.fetch(HTTPText.request("GET", "/combined")).status == 200)
                let lines = Self.lines(path, atLeast: 2)
                try #require(lines.count == 2, "\(lines)")
                #expect(lines[0].hasPrefix("{\"time\":") && lines[0].contains("\"path\":\"/json\""), "\(lines[0])")
                #expect(lines[1].hasPrefix("127.0.0.1 - - [") && lines[1].contains("\"GET /combined HTTP/1.1\" 200 "), "\(lines[1])")
            }
        }
    }
}
