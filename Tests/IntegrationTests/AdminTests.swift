// The admin listener (/healthz, /status, slow, silent or body-sending clients) and `canarygate validate` with line-precise errors.
import Foundation
import Testing

extension Integration {
    @Suite("Admin and validate")
    struct Admin {
        @Test func healthzAndStatusDescribeTheRoutes() throws {
            let primary = try TestUpstream(name: "primary", text: "p")
            let canary = try TestUpstream(name: "canary", text: "c")
            defer { primary.stop(); canary.stop() }
            let config = ProxyConfig(routes: [
                RouteSpec("web", pathPrefix: "/", primary: ArmSpec("v1", primary), canary: ArmSpec("v2", canary), weight: 20),
                RouteSpec("api", host: "api.example", pathPrefix: "/api", primary: ArmSpec("v7", [primary.endpoint])),
            ])
            try withProxy(config) { proxy in
                #expect(try proxy.admin("/healthz").status == 200)

                let status = try proxy.admin("/status")
                #expect(status.status == 200)
                #expect(status.headers["content-type"]?.lowercased().contains("json") == true)
                let json = try #require(
                    try JSONSerialization.jsonObject(with: Data(status.body)) as? [String: Any],
                    "not a JSON object: \(status.text)")
                let routes = try #require(json["routes"] as? [[String: Any]], "no routes array: \(status.text)")
                let web = try #require(routes.first { $0["name"] as? String == "web" }, "no route web: \(status.text)")
                #expect((web["canaryWeight"] as? NSNumber)?.intValue == 20)
                let webPrimary = try #require(web["primary"] as? [String: Any])
                #expect(webPrimary["revision"] as? String == "v1")
                #expect(webPrimary["endpoints"] as? [String] == [primary.endpoint])
                let webCanary = try #require(web["canary"] as? [String: Any])
                #expect(webCanary["revision"] as? String == "v2")
                #expect(webCanary["endpoints"] as? [String] == [canary.endpoint])

                let api = try #require(routes.first { $0["name"] as? String == "api" }, "no route api: \(status.text)")
                #expect((api["primary"] as? [String: Any])?["revision"] as? String == "v7")
                #expect((api["canaryWeight"] as? NSNumber)?.intValue ?? 0 == 0)

                // The admin listener is not the data plane: unknown paths are 404 there.
                #expect(try proxy.admin("/no-such-thing").status == 404)
                #expect(primary.requestCount == 0 && canary.requestCount == 0)
            }
        }

        @Test func validateAcceptsAGoodConfig() throws {
            let dir = try TempDir.make()
            defer { dir.remove() }
            let config = ProxyConfig(
                routes: [
                    RouteSpec(
                        primary: ArmSpec("v1", ["127.0.0.1:9001"]),
                        canary: ArmSpec("v2", ["127.0.0.1:9002"]), weight: 20)
                ],
                timeouts: ["requestHeader": "500ms", "idle": "1m", "upstreamConnect": "2s"])
            let file = try dir.write("good.yaml", config.yaml(listenPort: 18080, adminPort: 19901))
            let outcome = try CanarygateBinary.run(["validate", "--config", file.path])
            #expect(
                outcome.status == 0,
                "validate failed on a good config:\n\(outcome.stderr)\n\(config.yaml(listenPort: 18080, adminPort: 19901))")
        }

        @Test func validateRejectsABadWeightNamingFieldAndLine() throws {
            let dir = try TempDir.make()
            defer { dir.remove() }
            let yaml = ProxyConfig(routes: [
                RouteSpec(
                    primary: ArmSpec("v1", ["127.0.0.1:9001"]),
                    canary: ArmSpec("v2", ["127.0.0.1:9002"]), weight: 150)
            ])
            .yaml(listenPort: 18080, adminPort: 19901)
            let line =
                try #require(
                    yaml.split(separator: "\n", omittingEmptySubsequences: false)
                        .firstIndex { $0.contains("weight: 150") }) + 1
            let file = try dir.write("bad.yaml", yaml)
            let outcome = try CanarygateBinary.run(["validate", "--config", file.path])
            #expect(outcome.status != 0)
            let expected = "routes[0].canary.weight: 150 is not in 0...100 (line \(line))"
            #expect(outcome.stderr.contains(expected), "want \(expected.debugDescription) on stderr, got:\n\(outcome.stderr)")
        }

        @Test func validateRejectsAnUnknownKeyWithItsLine() throws {
            let dir = try TempDir.make()
            defer { dir.remove() }
            var yaml = ProxyConfig(routes: [RouteSpec(primary: ArmSpec("v1", ["127.0.0.1:9001"]))])
                .yaml(listenPort: 18080, adminPort: 19901)
            yaml += "    colour: blue\n"  // inside routes[0]
            let line = yaml.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains("colour") }! + 1
            let file = try dir.write("unknown.yaml", yaml)
            let outcome = try CanarygateBinary.run(["validate", "--config", file.path])
            #expect(outcome.status != 0)
            #expect(
                outcome.stderr.contains("routes[0]") && outcome.stderr.contains("colour")
                    && outcome.stderr.contains("(line \(line))"),
                "want routes[0] … colour … (line \(line)) on stderr, got:\n\(outcome.stderr)")
        }

        /// Another program holding the admin port with SO_REUSEPORT (as a second instance of the proxy
        /// would) must make the start fail, not share the port and split the admin requests with it.
        @Test func anAdminPortSharedByAnotherSocketIsRefusedAtStart() throws {
            let holder = try Posix.newTCPSocket()
            defer { close(holder) }
            var one: Int32 = 1
            setsockopt(holder, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            setsockopt(holder, SOL_SOCKET, SO_REUSEPORT, &one, socklen_t(MemoryLayout<Int32>.size))
            var address = Posix.loopbackAddress(port: 0)
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(holder, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            #expect(bound == 0 && listen(holder, 8) == 0)
            let adminPort = try Posix.localPort(holder)
            let dir = try TempDir.make()
            defer { dir.remove() }
            let file = try dir.write(
                "shared.yaml",
                """
                admin: { address: "127.0.0.1:\(adminPort)" }
                listeners: [ { name: http, address: "127.0.0.1:\(try Posix.freePort())" } ]
                routes: [ { name: web, primary: { revision: v1, endpoints: ["127.0.0.1:9"] } } ]

                """)
            let outcome = try CanarygateBinary.run(["run", "--config", file.path], timeout: 5)
            #expect(outcome.status != 0)
            #expect(outcome.stderr.contains("admin listener 127.0.0.1:\(adminPort)"), "\(outcome.stderr.suffix(1000))")
        }

        @Test func runRefusesAnInvalidConfig() throws {
            let dir = try TempDir.make()
            defer { dir.remove() }
            let file = try dir.write("bad.yaml", "listeners: 5\n")
            let outcome = try CanarygateBinary.run(["run", "--config", file.path], timeout: 10)
            #expect(outcome.status != 0)
            #expect(!outcome.stderr.isEmpty)
        }

        /// A client sending its head a byte at a time must not hold up the others (a per-read timeout restarted
        /// with every byte once held the one-at-a-time admin thread as long as the client kept dribbling).
        @Test func aClientDribblingItsHeadCannotHoldTheAdminAPI() throws {
            let upstream = try TestUpstream(text: "ok")
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream)) { proxy in
                let dribbler = try Posix.connect(port: proxy.adminPort, timeout: 2)
                defer { close(dribbler) }
                let started = Date()
                let done = DispatchSemaphore(value: 0)
                // One byte every 200 ms for 6 s, never finishing the head.
                Thread.detachNewThread {
                    let bytes = Array("GET /status HTTP/1.1\r\nX-Slow: ".utf8) + Array(repeating: UInt8(ascii: "a"), count: 40)
                    for byte in bytes.prefix(30) {
                        if (try? Posix.sendAll(dribbler, [byte])) == nil { break }
                        usleep(200_000)
                    }
                    done.signal()
                }
                usleep(300_000)  // the dribbler is being served
                let health = try proxy.admin("/healthz")
                let waited = Date().timeIntervalSince(started)
                #expect(health.status == 200)
                #expect(waited < 3.5, "/healthz waited \(waited) s behind a client sending its head a byte every 200 ms")
                _ = done.wait(timeout: .now() + 8)
            }
        }

        /// Silent clients cost the admin API a descriptor each, not its thread: `/healthz` answers while
        /// they are all still connected. (Served one at a time, it waited behind each one's 2 s deadline:
        /// 5.7 s behind three.)
        @Test func healthzAnswersWhileSilentClientsHoldConnections() throws {
            let upstream = try TestUpstream(text: "ok")
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream)) { proxy in
                var silent: [Int32] = []
                defer { for fd in silent { close(fd) } }
                for _ in 0..<5 { silent.append(try Posix.connect(port: proxy.adminPort, timeout: 2)) }
                let started = Date()
                let health = try RawClient.fetch(
                    port: proxy.adminPort, HTTPText.request("GET", "/healthz", host: "127.0.0.1:\(proxy.adminPort)"),
                    timeout: 15)
                let waited = Date().timeIntervalSince(started)
                #expect(health.status == 200)
                let cut = silent.filter { Posix.waitReadable($0, timeout: 0) }
                #expect(cut.isEmpty, "/healthz answered after \(waited) s, once \(cut.count) of 5 silent connections had been cut")
                // Their own deadline still comes: 408, then the close.
                for fd in silent {
                    #expect(Posix.waitReadable(fd, timeout: 8), "a silent connection outlived its deadline")
                    var buffer = [UInt8](repeating: 0, count: 256)
                    let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                    #expect(String(decoding: buffer.prefix(max(0, count)), as: UTF8.self).hasPrefix("HTTP/1.1 408 "))
                }
            }
        }

        /// Past 32 connections the oldest one still sending its request makes room for the new one, so even a
        /// full house of silent clients cannot keep `/healthz` out.
        @Test func pastTheConnectionCapTheOldestSilentClientMakesRoom() throws {
            let upstream = try TestUpstream(text: "ok")
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream)) { proxy in
                var silent: [Int32] = []
                defer { for fd in silent { close(fd) } }
                for _ in 0..<32 { silent.append(try Posix.connect(port: proxy.adminPort, timeout: 2)) }
                let health = try RawClient.fetch(
                    port: proxy.adminPort, HTTPText.request("GET", "/healthz", host: "127.0.0.1:\(proxy.adminPort)"),
                    timeout: 15)
                #expect(health.status == 200)
                #expect(Posix.waitReadable(silent[0], timeout: 0), "the oldest silent connection is still open")
                let cut = silent.dropFirst().filter { Posix.waitReadable($0, timeout: 0) }
                #expect(cut.isEmpty, "\(cut.count) more silent connections were cut than the one that made room")
            }
        }

        /// A request with a body (which the API ignores) is answered at once, completely: the head ends where
        /// CRLFCRLF is, not at the end of a read, and the body is consumed so the close is not a reset.
        @Test func aPostWithABodyIsAnsweredAtOnce() throws {
            let upstream = try TestUpstream(text: "ok")
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream)) { proxy in
                let client = try RawClient(port: proxy.adminPort)
                defer { client.close() }
                let started = Date()
                try client.send(
                    "POST /reload HTTP/1.1\r\nHost: 127.0.0.1:\(proxy.adminPort)\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{\"reason\":\"ci\"}"
                )
                let response = try client.readResponse(method: "POST")
                #expect(response.status == 200, "\(response.status) \(response.text)")
                #expect(Date().timeIntervalSince(started) < 1.5, "answered after \(Date().timeIntervalSince(started)) s")
            }
        }
    }
}
