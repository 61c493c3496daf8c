// SIGHUP / POST /reload / `canarygate reload`: new config for new requests, none lost, a broken file refused.
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension Integration {
    @Suite("Hot reload")
    struct Reload {
        /// What a load thread saw: responses by arm, failures described.
        final class LoadTally: @unchecked Sendable {
            private let lock = NSLock()
            private(set) var byArm: [String: Int] = [:]
            private(set) var failures: [String] = []
            private(set) var reconnects = 0

            func ok(_ arm: String) { lock.withLock { byArm[arm, default: 0] += 1 } }
            func failed(_ what: String) { lock.withLock { failures.append(what) } }
            func reconnected() { lock.withLock { reconnects += 1 } }
            var total: Int { lock.withLock { byArm.values.reduce(0, +) } }
            var snapshot: (byArm: [String: Int], failures: [String], reconnects: Int) {
                lock.withLock { (byArm, failures, reconnects) }
            }
        }

        /// 1 KiB bodies, so a response cut short by a reload shows as a short body.
        static let primaryBody = String(repeating: "p", count: 1024)
        static let canaryBody = String(repeating: "c", count: 1024)

        static func weighted(_ primary: TestUpstream, _ canary: TestUpstream, _ weight: Int) -> ProxyConfig {
            .single(primary: primary, canary: canary, weight: weight)
        }

        /// Which arm answered `count` requests on one keep-alive connection (stops at the first non-200).
        static func arms(_ proxy: ProxyProcess, count: Int, path: String = "/") throws -> [String] {
            let client = try proxy.client()
            defer { client.close() }
            var arms: [String] = []
            for i in 0..<count {
                let response = try client.get("\(path)?i=\(i)")
                guard response.status == 200 else {
                    Issue.record("request \(i): \(response.status) \(response.text)")
                    break
                }
                arms.append(response.text)
            }
            return arms
        }

        /// The 1-based line of the first line of `yaml` containing `text`.
        static func line(of text: String, in yaml: String) throws -> Int {
            try #require(
                yaml.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains(text) },
                "\(text) not in:\n\(yaml)") + 1
        }

        @Test func twelveReloadsUnderKeepAliveLoadLoseNoRequest() throws {
            let primary = try TestUpstream(name: "primary", text: Self.primaryBody)
            let canary = try TestUpstream(name: "canary", text: Self.canaryBody)
            defer { primary.stop(); canary.stop() }
            try withProxy(Self.weighted(primary, canary, 10), threads: 2) { proxy in
                let tally = LoadTally()
                let stop = Locked(false)
                let clients = DispatchGroup()
                let port = proxy.port
                let hardDeadline = Date().addingTimeInterval(8)
                for worker in 0..<8 {
                    clients.enter()
                    let thread = Thread {
                        defer { clients.leave() }
                        var client: RawClient?
                        // Bounded: stops when told, at the hard deadline, or after 20,000 requests.
                        for i in 0..<20_000 {
                            if stop.value || Date() > hardDeadline { break }
                            do {
                                if client == nil { client = try RawClient(port: port) }
                                let response = try client!.get("/w\(worker)/\(i)")
                                if response.status == 200 && (response.text == Self.primaryBody || response.text == Self.canaryBody) {
                                    tally.ok(response.text == Self.primaryBody ? "primary" : "canary")
                                } else {
                                    tally.failed(
                                        "worker \(worker) request \(i): \(response.status), \(response.bodyCount)-byte body \(String(response.text.prefix(80)).debugDescription)"
                                    )
                                }
                                if response.announcesClose {
                                    tally.reconnected()
                                    client?.close()
                                    client = nil
                                }
                            } catch {
                                tally.failed("worker \(worker) request \(i): \(error)")
                                client?.close()
                                client = nil
                            }
                        }
                        client?.close()
                    }
                    thread.name = "load-\(worker)"
                    thread.start()
                }

                // Let the load warm up, then reload twelve times ~100 ms apart, alternating 40 and 10.
                usleep(200_000)
                var finalWeight = 10
                var lastState = try proxy.reloadState()
                for reload in 1...12 {
                    let started = Date()
                    finalWeight = reload % 2 == 1 ? 40 : 10
                    try proxy.rewriteConfig(Self.weighted(primary, canary, finalWeight))
                    proxy.signal(SIGHUP)
                    // One reload at a time: pending SIGHUPs would coalesce into one.
                    lastState = try proxy.waitForReloadState { $0.generation >= reload + 1 || $0.failures > 0 }
                    #expect(lastState.generation == reload + 1 && lastState.failures == 0, "after reload \(reload): \(lastState)")
                    let spent = Date().timeIntervalSince(started)
                    if spent < 0.1 { usleep(UInt32((0.1 - spent) * 1_000_000)) }
                }
                usleep(300_000)
                stop.value = true
                #expect(clients.wait(timeout: .now() + 10) == .success, "load threads did not finish")

                let seen = tally.snapshot
                #expect(seen.failures.isEmpty, "\(seen.failures.count) failed requests, first: \(seen.failures.prefix(5))")
                #expect(seen.reconnects == 0, "\(seen.reconnects) responses closed their keep-alive connection during reloads")
                let total = seen.byArm.values.reduce(0, +)
                #expect(total >= 800, "only \(total) requests completed under load")
                #expect((seen.byArm["canary"] ?? 0) > 0 && (seen.byArm["primary"] ?? 0) > 0, "split \(seen.byArm)")
                #expect(
                    primary.requestCount + canary.requestCount == total,
                    "upstreams saw \(primary.requestCount + canary.requestCount) requests, clients got \(total) answers")

                let state = try proxy.reloadState()
                #expect(
                    state.generation == 13 && state.successes == 12 && state.failures == 0 && state.lastError == nil,
                    "/status after 12 reloads: \(state)")
                let routes = try #require(try proxy.status()["routes"] as? [[String: Any]])
                #expect((routes.first?["canaryWeight"] as? NSNumber)?.intValue == finalWeight)
            }
        }

        @Test func brokenFileIsRefusedAndTheOldConfigKeepsServingUntilAFixedOneLoads() throws {
            let primary = try TestUpstream(name: "primary", text: "primary")
            let canary = try TestUpstream(name: "canary", text: "canary")
            defer { primary.stop(); canary.stop() }
            try withProxy(Self.weighted(primary, canary, 0), threads: 1) { proxy in
                let broken = try proxy.rewriteConfig(Self.weighted(primary, canary, 150))
                let line = try Self.line(of: "weight: 150", in: broken)
                let refused = try proxy.reloadBySignal()
                let expected = "routes[0].canary.weight: 150 is not in 0...100 (line \(line))"
                #expect(refused.generation == 1 && refused.failures == 1 && refused.successes == 0, "\(refused)")
                #expect(refused.lastError?.contains(expected) == true, "lastError \(refused), want \(expected.debugDescription)")
                #expect(
                    proxy.log.contains("routes[0].canary.weight") && proxy.log.contains("line \(line)"),
                    "the refusal is not logged with field and line:\n\(proxy.log.suffix(2048))")

                // Still weight 0: no request reaches the canary.
                let during = try Self.arms(proxy, count: 50)
                #expect(
                    during.count == 50 && during.allSatisfy { $0 == "primary" },
                    "with the old weight 0 kept, the canary got \(during.filter { $0 == "canary" }.count) of \(during.count)")
                let routes = try #require(try proxy.status()["routes"] as? [[String: Any]])
                #expect((routes.first?["canaryWeight"] as? NSNumber)?.intValue == 0)

                // Fixed: weight 100 loads, the error clears, every request goes to the canary.
                try proxy.rewriteConfig(Self.weighted(primary, canary, 100))
                let fixed = try proxy.reloadBySignal()
                #expect(
                    fixed.generation == 2 && fixed.successes == 1 && fixed.failures == 1 && fixed.lastError == nil,
                    "after the fixed reload: \(fixed)")
                let after = try Self.arms(proxy, count: 20)
                #expect(after.count == 20 && after.allSatisfy { $0 == "canary" }, "weight 100 split: \(after)")
                #expect(canary.requestCount == 20)
            }
        }

        @Test func adminPostAndReloadCommandReloadAndReportExitCodes() throws {
            let primary = try TestUpstream(name: "primary", text: "primary")
            let canary = try TestUpstream(name: "canary", text: "canary")
            defer { primary.stop(); canary.stop() }
            try withProxy(Self.weighted(primary, canary, 0), threads: 1) { proxy in
                try proxy.rewriteConfig(Self.weighted(primary, canary, 30))
                let posted = try proxy.adminPost("/reload")
                #expect(posted.status == 200 && posted.text.contains("reloaded: generation 2"), "\(posted.status) \(posted.text)")
                #expect(try proxy.admin("/reload").status == 405, "GET /reload must not reload")

                try proxy.rewriteConfig(Self.weighted(primary, canary, 40))
                let byAdmin = try CanarygateBinary.run(["reload", "--admin", "127.0.0.1:\(proxy.adminPort)"])
                #expect(
                    byAdmin.status == 0 && byAdmin.stdout.contains("generation 3"),
                    "reload --admin: exit \(byAdmin.status)\n\(byAdmin.stdout)\(byAdmin.stderr)")

                try proxy.rewriteConfig(Self.weighted(primary, canary, 50))
                let byConfig = try CanarygateBinary.run(["reload", "--config", proxy.configFile.path])
                #expect(
                    byConfig.status == 0 && byConfig.stdout.contains("generation 4"),
                    "reload --config: exit \(byConfig.status)\n\(byConfig.stdout)\(byConfig.stderr)")
                let routes = try #require(try proxy.status()["routes"] as? [[String: Any]])
                #expect((routes.first?["canaryWeight"] as? NSNumber)?.intValue == 50)

                // Broken: 422 naming the problem, the command exits 1, nothing changes.
                let broken = try proxy.rewriteConfig(Self.weighted(primary, canary, 150))
                let line = try Self.line(of: "weight: 150", in: broken)
                let refused = try proxy.adminPost("/reload")
                #expect(
                    refused.status == 422 && refused.text.contains("routes[0].canary.weight: 150 is not in 0...100 (line \(line))"),
                    "\(refused.status) \(refused.text)")
                let failing = try CanarygateBinary.run(["reload", "--admin", "127.0.0.1:\(proxy.adminPort)"])
                #expect(failing.status == 1, "reload --admin of a broken file: exit \(failing.status)")
                #expect(failing.stderr.contains("routes[0].canary.weight"), "stderr: \(failing.stderr)")
                let state = try proxy.reloadState()
                #expect(state.generation == 4 && state.successes == 3 && state.failures == 2, "\(state)")

                // Nobody listening: not a success.
                let closedPort = try Posix.freePort()
                let unreachable = try CanarygateBinary.run(["reload", "--admin", "127.0.0.1:\(closedPort)"])
                #expect(unreachable.status != 0, "reload to a closed admin port exited 0")
                #expect(try proxy.fetch(HTTPText.request()).status == 200)
            }
        }

        @Test func listenerAddedByReloadAcceptsAndRemovedOneRefuses() throws {
            let upstream = try TestUpstream(text: "hello")
            defer { upstream.stop() }
            let extraPort = try Posix.freePort()
            let base = ProxyConfig.single(primary: upstream)
            var withExtra = base
            withExtra.extraListeners = [ListenerSpec("extra", port: extraPort)]
            try withProxy(base, threads: 2) { proxy in
                #expect(Posix.connectRefused(port: extraPort), "port \(extraPort) accepts before the listener exists")

                try proxy.rewriteConfig(withExtra)
                #expect(try proxy.reloadBySignal().generation == 2)
                let opened = Posix.waitUntil(timeout: 2) { !Posix.connectRefused(port: extraPort) }
                #expect(opened, "the added listener does not accept within 2 s")
                for i in 0..<6 {  // fresh connections, so every loop's socket is exercised
                    let response = try RawClient.fetch(port: extraPort, HTTPText.request("GET", "/extra\(i)"))
                    #expect(response.status == 200 && response.text == "hello")
                }

                try proxy.rewriteConfig(base)
                #expect(try proxy.reloadBySignal().generation == 3)
                let closed = Posix.waitUntil(timeout: 2) { Posix.connectRefused(port: extraPort) }
                #expect(closed, "the removed listener still accepts 2 s after the reload")
                for _ in 0..<5 { #expect(Posix.connectRefused(port: extraPort), "a connect to the removed listener succeeded") }
                // The listener that stayed is untouched.
                #expect(try proxy.fetch(HTTPText.request()).status == 200)
            }
        }

        @Test func aListenerThatCannotListenRefusesTheReload() throws {
            let upstream = try TestUpstream(text: "ok")
            defer { upstream.stop() }
            // Another program holds the port (without SO_REUSEPORT).
            let (held, port) = try Posix.listen()
            defer { close(held) }
            try withProxy(.single(primary: upstream)) { proxy in
                var config = ProxyConfig.single(primary: upstream)
                config.extraListeners = [ListenerSpec("taken", port: port)]
                try proxy.rewriteConfig(config)
                let state = try proxy.reloadBySignal()
                #expect(state.failures == 1 && state.generation == 1, "\(state)")
                #expect(
                    state.lastError?.contains("taken") == true && state.lastError?.contains("\(port)") == true,
                    "the error names the listener and its address: \(state.lastError ?? "none")")
                // The running config keeps serving.
                #expect(try proxy.fetch(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8)).status == 200)
            }
        }

        @Test func removedEndpointGetsNoTrafficAndItsIdlePooledConnectionsClose() throws {
            let a = try TestUpstream(name: "a", text: "a")
            let b = try TestUpstream(name: "b", text: "b")
            defer { a.stop(); b.stop() }
            let both = ProxyConfig(routes: [RouteSpec(primary: ArmSpec("v1", [a.endpoint, b.endpoint]))])
            let onlyB = ProxyConfig(routes: [RouteSpec(primary: ArmSpec("v1", [b.endpoint]))])
            try withProxy(both, threads: 1) { proxy in
                let before = try Self.arms(proxy, count: 10)
                #expect(
                    before.filter { $0 == "a" }.count == 5 && before.filter { $0 == "b" }.count == 5,
                    "round robin over two endpoints: \(before)")
                // The proxy keeps its connection to `a` pooled and idle.
                #expect(a.openConnections >= 1, "no pooled connection to a before the reload")
                let aRequests = a.requestCount

                try proxy.rewriteConfig(onlyB)
                #expect(try proxy.reloadBySignal().generation == 2)
                #expect(
                    a.waitForOpenConnections(atMost: 0, timeout: 3),
                    "a still has \(a.openConnections) connection(s) open 3 s after it left the config")

                let after = try Self.arms(proxy, count: 20)
                #expect(after.count == 20 && after.allSatisfy { $0 == "b" }, "after removing a: \(after)")
                #expect(a.requestCount == aRequests, "a got \(a.requestCount - aRequests) requests after it was removed")
                #expect(b.openConnections >= 1, "b's pooled connection did not survive the reload")
            }
        }

        @Test func requestInFlightDuringReloadCompletesWith200() throws {
            let primary = try TestUpstream(name: "primary") { request in
                request.path == "/slow" ? .respond(UpstreamResponse(body: .fixed("slow primary".bytes), delay: 0.5)) : .text("primary")
            }
            let canary = try TestUpstream(name: "canary", text: "canary")
            defer { primary.stop(); canary.stop() }
            try withProxy(Self.weighted(primary, canary, 0), threads: 1) { proxy in
                let client = try proxy.client()
                let started = Date()
                try client.send(HTTPText.request("GET", "/slow"))
                #expect(primary.waitForRequests(1, timeout: 2), "the slow request never reached the upstream")

                try proxy.rewriteConfig(Self.weighted(primary, canary, 100))
                #expect(try proxy.reloadBySignal().generation == 2)
                let response = try client.readFinalResponse().final
                #expect(response.status == 200 && response.text == "slow primary", "\(response.status) \(response.text)")
                #expect(!response.announcesClose, "a reload closed the client connection: \(response.headers)")
                #expect(Date().timeIntervalSince(started) < 3)

                // The next request on the same connection uses the new weight.
                let next = try client.get("/next")
                #expect(next.status == 200 && next.text == "canary", "\(next.status) \(next.text)")
            }
        }

        /// The endpoint serving a request leaves the config while the request is in flight: the request
        /// finishes under the old snapshot, then that busy upstream connection is closed, not pooled.
        @Test func requestInFlightOnARemovedEndpointCompletesAndItsConnectionCloses() throws {
            let old = try TestUpstream(name: "old") { _ in
                .respond(UpstreamResponse(body: .fixed("old, slow".bytes), delay: 0.5))
            }
            let new = try TestUpstream(name: "new", text: "new")
            defer { old.stop(); new.stop() }
            try withProxy(.single(primary: old), threads: 1) { proxy in
                let client = try proxy.client()
                let started = Date()
                try client.send(HTTPText.request("GET", "/slow"))
                #expect(old.waitForRequests(1, timeout: 2), "the slow request never reached the upstream")

                try proxy.rewriteConfig(.single(primary: new))
                #expect(try proxy.reloadBySignal().generation == 2)
                let response = try client.readFinalResponse().final
                #expect(response.status == 200 && response.text == "old, slow", "\(response.status) \(response.text)")
                #expect(Date().timeIntervalSince(started) < 3)
                #expect(!response.announcesClose)

                // The next request on the same connection uses the new config.
                let next = try client.get("/next")
                #expect(next.status == 200 && next.text == "new", "\(next.status) \(next.text)")
                #expect(old.requestCount == 1)
                #expect(
                    old.waitForOpenConnections(atMost: 0, timeout: 3),
                    "old still has \(old.openConnections) connection(s) open after its last request")
            }
        }

        @Test func reloadRefusesChangingThreadsOrTheAdminAddress() throws {
            let upstream = try TestUpstream(text: "ok")
            defer { upstream.stop() }
            var config = ProxyConfig.single(primary: upstream)
            config.threads = 1
            try withProxy(config) { proxy in
                var moreThreads = config
                moreThreads.threads = 2
                try proxy.rewriteConfig(moreThreads)
                let refused = try proxy.adminPost("/reload")
                #expect(refused.status == 422, "\(refused.status) \(refused.text)")
                #expect(refused.text.contains("threads") && refused.text.contains("restart"), "422 body: \(refused.text)")
                let state = try proxy.reloadState()
                #expect(state.generation == 1 && state.failures == 1, "\(state)")
                #expect(state.lastError?.contains("threads") == true, "\(state)")

                // The admin address is fixed too (the listener answering this very request).
                let otherAdmin = try Posix.freePort()
                try proxy.writeConfig(config.yaml(listenPort: proxy.port, adminPort: otherAdmin))
                let moved = try proxy.adminPost("/reload")
                #expect(moved.status == 422 && moved.text.contains("admin.address"), "\(moved.status) \(moved.text)")
                #expect(Posix.connectRefused(port: otherAdmin))

                #expect(try proxy.fetch(HTTPText.request()).status == 200)
                #expect(try proxy.reloadState().generation == 1)
            }
        }
    }
}

/// A flag shared with load threads.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}
