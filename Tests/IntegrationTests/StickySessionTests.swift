// Sticky sessions over real sockets: clients keep their arm across a weight step, a rollback brings every one back, foreign cookies are replaced.
import Foundation
import Testing

/// One simulated browser's cookies: what Set-Cookie gave it, sent back as one Cookie field.
private struct CookieJar {
    var cookies: [String: String] = [:]

    var field: [HTTPField] {
        cookies.isEmpty ? [] : [HTTPField("Cookie", cookies.keys.sorted().map { "\($0)=\(cookies[$0]!)" }.joined(separator: "; "))]
    }

    /// Stores the response's cookies (Max-Age=0 removes); returns the names it set or removed.
    @discardableResult
    mutating func store(_ headers: [HTTPField]) -> [String] {
        var touched: [String] = []
        for field in headers where field.name.lowercased() == "set-cookie" {
            let parts = field.value.components(separatedBy: "; ")
            guard let equals = parts[0].firstIndex(of: "=") else { continue }
            let name = String(parts[0][..<equals])
            cookies[name] = parts.contains("Max-Age=0") ? nil : String(parts[0][parts[0].index(after: equals)...])
            touched.append(name)
        }
        return touched
    }
}

/// Visits as a client with `jar`: the arm that answered ("primary" or "canary") and the cookies touched.
private func visit(_ client: RawClient, _ jar: inout CookieJar) throws -> (arm: String, touched: [String]) {
    let response = try client.get("/", headers: jar.field)
    #expect(response.status == 200, "\(response.status) \(response.text)")
    return (response.text, jar.store(response.headers))
}

extension Integration {
    @Suite("Sticky sessions")
    struct StickySessions {
        private static func route(_ primary: TestUpstream, _ canary: TestUpstream, weight: Int) -> ProxyConfig {
            var route = RouteSpec(primary: ArmSpec("v1", primary), canary: ArmSpec("v2", canary), weight: weight)
            route.sessionAffinity = "{ cookieName: cg, maxAge: 600, httpOnly: true }"
            return ProxyConfig(routes: [route])
        }

        @Test func stickyCookiesAcrossAStepWithTheObservedShareChecked() throws {
            let primary = try TestUpstream(name: "primary", text: "primary")
            let canary = try TestUpstream(name: "canary", text: "canary")
            defer { primary.stop(); canary.stop() }
            let n = 400
            try withProxy(Self.route(primary, canary, weight: 10)) { proxy in
                let client = try proxy.client()
                var jars = [CookieJar](repeating: CookieJar(), count: n)
                var requests = (canary: 0, primary: 0)
                func count(_ arm: String) { if arm == "canary" { requests.canary += 1 } else { requests.primary += 1 } }
                // At 10%: every client is pinned with its first response, under the name of its arm.
                var at10: [String] = []
                for i in 0..<n {
                    let first = try visit(client, &jars[i])
                    #expect(first.touched == [first.arm == "canary" ? "cg" : "cg-primary"], "\(first)")
                    let again = try visit(client, &jars[i])
                    #expect(again.arm == first.arm && again.touched.isEmpty, "\(first) then \(again)")
                    at10.append(first.arm)
                    count(first.arm); count(again.arm)
                }
                try proxy.rewriteConfig(Self.route(primary, canary, weight: 30))
                #expect(try proxy.reloadBySignal().failures == 0)
                var at30: [String] = []
                for i in 0..<n {
                    let after = try visit(client, &jars[i])
                    let again = try visit(client, &jars[i])
                    #expect(again.arm == after.arm && again.touched.isEmpty)
                    // Never back from the canary; a mover's primary cookie is replaced by the canary's.
                    #expect(!(at10[i] == "canary" && after.arm == "primary"), "client \(i) went back")
                    if at10[i] != after.arm {
                        #expect(Set(after.touched) == ["cg", "cg-primary"] && jars[i].cookies.keys.sorted() == ["cg"])
                    }
                    at30.append(after.arm)
                    count(after.arm); count(again.arm)
                }
                let canary10 = at10.filter { $0 == "canary" }.count, canary30 = at30.filter { $0 == "canary" }.count
                // Binomial(400, p): four standard deviations (12 at 10%, 18.3 at 30%).
                #expect(abs(canary10 - 40) <= 24, "\(canary10) of \(n) on the canary at 10%")
                #expect(abs(canary30 - 120) <= 37, "\(canary30) of \(n) on the canary at 30%")

                let metrics = try PromText(try proxy.admin("/metrics").text)
                #expect(metrics.value("canarygate_canary_weight", ["route": "web"]) == 30)
                // Requests: the sketch counts every one of them (nothing else reached the route).
                let requestShare = try #require(metrics.value("canarygate_canary_observed_share", ["route": "web", "unit": "requests"]))
                let expectedRequests = 100 * Double(requests.canary) / Double(requests.canary + requests.primary)
                #expect(abs(requestShare - expectedRequests) < 0.01, "\(requestShare) vs \(expectedRequests)")
                // Clients within the window: each arm's distinct clients, a mover counted on both.
                let everPrimary = at10.filter { $0 == "primary" }.count
                let clientShare = try #require(metrics.value("canarygate_canary_observed_share", ["route": "web", "unit": "clients"]))
                let expectedClients = 100 * Double(canary30) / Double(canary30 + everPrimary)
                #expect(abs(clientShare - expectedClients) < 2, "\(clientShare) vs \(expectedClients)")
                let canaryClients = try #require(metrics.value("canarygate_sticky_clients", ["route": "web", "arm": "canary"]))
                #expect(abs(canaryClients - Double(canary30)) <= 3, "\(canaryClients) vs \(canary30)")
                let sticky = try #require((try proxy.status()["routes"] as? [[String: Any]])?.first?["stickyClients"] as? [String: Any])
                #expect((sticky["canaryClients"] as? NSNumber)?.intValue == Int(canaryClients))
            }
        }

        @Test func aCookieOfAnotherRevisionIsReplacedOverHTTP1AndHTTP2() throws {
            try H2Tools.requirePythonH2()
            let primary = try TestUpstream(name: "primary", text: "primary")
            let canary = try TestUpstream(name: "canary", text: "canary")
            defer { primary.stop(); canary.stop() }
            try withProxy(Self.route(primary, canary, weight: 50)) { proxy in
                let client = try proxy.client()
                var jar = CookieJar()
                jar.cookies["cg"] = "v1.5.deadbeef"
                let first = try visit(client, &jar)
                let own = try #require(jar.cookies[first.arm == "canary" ? "cg" : "cg-primary"])
                #expect(own != "v1.5.deadbeef" && own.hasPrefix("v1.") && own.count > 12, "\(jar.cookies)")
                #expect(jar.cookies.count == 1, "the foreign cookie stays only when it is the new one's name: \(jar.cookies)")
                for _ in 0..<5 {
                    let again = try visit(client, &jar)
                    #expect(again.arm == first.arm && again.touched.isEmpty)
                }
                // HTTP/2: the same client is recognised, and a new one gets its cookie as a set-cookie field.
                let cookie = jar.field[0].value
                let known = try H2Client.run(
                    "request", port: proxy.port, ["--authority", "example.test", "--path", "/a", "--header", "cookie: \(cookie)"])
                try #require(known.ok, "\(known)")
                #expect(known.streams.map(\.body) == [first.arm], "\(known)")
                #expect(!known.streams[0].headers.contains { $0.name == "set-cookie" }, "\(known)")
                let fresh = try H2Client.run("request", port: proxy.port, ["--authority", "example.test", "--path", "/b"])
                try #require(fresh.ok, "\(fresh)")
                let set = fresh.streams[0].headers.filter { $0.name == "set-cookie" }.map(\.value)
                #expect(set.count == 1 && set[0].hasSuffix("; Max-Age=600; Path=/; HttpOnly"), "\(set)")
                #expect(set.first?.hasPrefix(fresh.streams[0].body == "canary" ? "cg=v1." : "cg-primary=v1.") == true, "\(fresh)")
            }
        }

        @Test func aRollbackReturnsEveryCanaryClientToThePrimaryAtOnce() throws {
            let primary = try TestUpstream.arm("primary", text: "primary")
            let canary = try TestUpstream.arm("canary", text: "canary")
            defer { primary.stop(); canary.stop() }
            var spec = RolloutSpec(primary: primary, canary: canary)
            spec.stepWeight = 50
            spec.maxWeight = 50
            spec.ignoreLoopbackLatencyJitter()
            spec.sessionAffinity = "{ cookieName: cg }"
            try withRolloutProxy(spec) { proxy in
                try withLoad(proxy.port) { _ in
                    let (s, met) = try proxy.waitForRollout(timeout: 5) { $0.phase == "Progressing" && $0.weight == 50 }
                    try #require(met, "never reached Progressing@50: \(s)")
                    #expect(try proxy.verb("pause").status == 200)
                    let client = try RawClient(port: proxy.port)
                    var jars = [CookieJar](repeating: CookieJar(), count: 100)
                    let before = try jars.indices.map { try visit(client, &jars[$0]).arm }
                    #expect(before.contains("canary") && before.contains("primary"), "\(before)")
                    #expect(try proxy.verb("abort").status == 200)
                    let (failed, done) = try proxy.waitForRollout(timeout: 2) { $0.phase == "Failed" && $0.routeWeight == 0 }
                    try #require(done, "no rollback: \(failed)")
                    for i in jars.indices {
                        let after = try visit(client, &jars[i])
                        #expect(after.arm == "primary", "client \(i) after the rollback")
                        #expect(jars[i].cookies["cg"] == nil && jars[i].cookies["cg-primary"] != nil, "\(jars[i].cookies)")
                        #expect(after.touched.isEmpty == (before[i] == "primary"), "client \(i): \(after)")
                    }
                }
            }
        }

        @Test func aStepHoldsUntilEnoughDistinctClientsTriedTheCanary() throws {
            let primary = try TestUpstream.arm("primary", text: "primary")
            let canary = try TestUpstream.arm("canary", text: "canary")
            defer { primary.stop(); canary.stop() }
            var spec = RolloutSpec(primary: primary, canary: canary)
            spec.stepWeight = 50
            spec.maxWeight = 100
            spec.minRequests = 1
            spec.ignoreLoopbackLatencyJitter()
            spec.sessionAffinity = "{ cookieName: cg }"
            spec.extraAnalysis.append("minClients: 20")
            try withRolloutProxy(spec) { proxy in
                // Four pinned clients, however many requests they send, are at most four canary clients.
                let client = try RawClient(port: proxy.port)
                var jars = [CookieJar](repeating: CookieJar(), count: 4)
                var held: RolloutStatus?
                let start = Date()
                while Date().timeIntervalSince(start) < 6 {
                    for i in jars.indices { _ = try visit(client, &jars[i]) }
                    let s = try proxy.rollout()
                    if s.verdicts.contains(where: { $0.judge == "clients" && $0.outcome == "hold" }) { held = s }
                    if let first = held, Date().timeIntervalSince(start) > 1.5 {
                        #expect(s.weight == 50 && s.phase == "Progressing", "a step went further on \(first.verdicts): \(s)")
                        break
                    }
                }
                let hold = try #require(held?.verdicts.first { $0.judge == "clients" }, "no clients verdict")
                #expect((hold.evidence["canary-clients"] ?? 99) <= 4, "\(hold)")
                // Many clients (the load draws a new one for every request): the step goes further.
                try withLoad(proxy.port) { _ in
                    let (s, met) = try proxy.waitForRollout(timeout: 8) { $0.weight > 50 || $0.phase != "Progressing" }
                    #expect(met && s.phase != "Failed", "never went further: \(s)")
                }
            }
        }

        @Test func anHTTP2UpstreamsResponseCarriesTheCookieToHTTP2AndHTTP1Clients() throws {
            try H2Tools.requirePythonH2()
            let v1 = try H2UpstreamProcess(name: "v1")
            defer { v1.stop() }
            let v2 = try H2UpstreamProcess(name: "v2")
            defer { v2.stop() }
            var p = ArmSpec("v1", [v1.endpoint]), c = ArmSpec("v2", [v2.endpoint])
            p.upstreamProtocol = "h2"
            c.upstreamProtocol = "h2"
            var route = RouteSpec(primary: p, canary: c, weight: 50)
            route.sessionAffinity = "{ cookieName: cg, sameSite: Strict }"
            try withProxy(ProxyConfig(routes: [route])) { proxy in
                let fresh = try H2Client.run("request", port: proxy.port, ["--authority", "example.test", "--path", "/echo"])
                try #require(fresh.ok, "\(fresh)")
                let headers = fresh.streams[0].headers
                let arm = try #require(headers.first { $0.name == "x-upstream" }?.value)
                let set = headers.filter { $0.name == "set-cookie" }.map(\.value)
                #expect(set.count == 1 && set[0].hasPrefix(arm == "v2" ? "cg=v1." : "cg-primary=v1."), "\(headers)")
                #expect(set.first?.hasSuffix("; Max-Age=86400; Path=/; SameSite=Strict") == true, "\(set)")
                // Sent back, the cookie keeps the client on its arm, without another Set-Cookie.
                let cookie = try #require(set.first?.components(separatedBy: ";").first)
                let back = try H2Client.run(
                    "request", port: proxy.port,
                    ["--authority", "example.test", "--path", "/echo", "--path", "/echo", "--header", "cookie: \(cookie)"])
                try #require(back.ok, "\(back)")
                #expect(back.streams.count == 2, "\(back)")
                for stream in back.streams {
                    #expect(
                        stream.headers.first { $0.name == "x-upstream" }?.value == arm
                            && !stream.headers.contains { $0.name == "set-cookie" })
                }
                // An HTTP/1.1 client of the same HTTP/2 arms gets its cookie in the translated head, and keeps its arm.
                let client = try proxy.client()
                var jar = CookieJar()
                let first = try client.get("/echo")
                #expect(first.status == 200, "\(first.status) \(first.text)")
                let h1Arm = try #require(first.headers.first { $0.name.lowercased() == "x-upstream" }?.value)
                #expect(jar.store(first.headers) == [h1Arm == "v2" ? "cg" : "cg-primary"], "\(first.headers)")
                for _ in 0..<3 {
                    let again = try client.get("/echo", headers: jar.field)
                    #expect(again.headers.first { $0.name.lowercased() == "x-upstream" }?.value == h1Arm)
                    #expect(jar.store(again.headers).isEmpty, "\(again.headers)")
                }
            }
        }
    }
}
