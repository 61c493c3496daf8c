// W3C trace context and the x-canarygate-arm header over real sockets: HTTP/1.1 and HTTP/2 clients, HTTP/1.1 and HTTP/2 upstreams, gRPC.
import Foundation
import Testing

private let validParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
private let validState = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"

/// A traceparent the proxy started: version 00, lower-case hex ids not all zero, flags 00 (not sampled).
private func isStarted(_ value: String?) -> Bool {
    guard let value else { return false }
    let parts = value.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
    let hex = { (s: String) in s.allSatisfy { "0123456789abcdef".contains($0) } && s.contains { $0 != "0" } }
    return parts.count == 4 && parts[0] == "00" && parts[1].count == 32 && hex(parts[1]) && parts[2].count == 16
        && hex(parts[2]) && parts[3] == "00"
}

/// `curl -v` over h2c: the response fields (curl prints trailers the same way) and the body.
private func curlH2(_ port: UInt16, _ path: String, headers: [String] = []) throws -> (fields: [HTTPField], body: String) {
    let run = try ChildProcess.run(
        H2Tools.curl,
        ["-sv", "--http2-prior-knowledge", "--max-time", "10"] + headers.flatMap { ["-H", $0] } + ["http://127.0.0.1:\(port)\(path)"],
        timeout: 15)
    #expect(run.status == 0, "curl: \(run.stderr.suffix(1024))")
    var fields: [HTTPField] = []
    for line in run.stderr.split(whereSeparator: \.isNewline) where line.hasPrefix("< ") {
        let text = line.dropFirst(2).trimmingCharacters(in: .whitespacesAndNewlines)
        if let colon = text.firstIndex(of: ":"), colon != text.startIndex {
            fields.append(HTTPField(String(text[..<colon]), text[text.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
    }
    return (fields, run.stdout)
}

/// The fields an h2upstream.py saw, from its /echo document.
private func echoed(_ body: [UInt8]) throws -> [HTTPField] {
    let doc = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
    return (doc["fields"] as? [[String]] ?? []).compactMap { $0.count == 2 ? HTTPField($0[0], $0[1]) : nil }
}

/// One route whose arms are h2upstream.py processes (v1, and v2 at `weight` when given).
private func h2Config(_ primary: H2UpstreamProcess, canary: H2UpstreamProcess? = nil, weight: Int = 0, tracing: String?) -> ProxyConfig {
    var p = ArmSpec("v1", [primary.endpoint])
    p.upstreamProtocol = "h2"
    var c = canary.map { ArmSpec("v2", [$0.endpoint]) }
    c?.upstreamProtocol = "h2"
    var config = ProxyConfig(routes: [RouteSpec("grpc", primary: p, canary: c, weight: weight)])
    config.tracing = tracing
    return config
}

private func withTracing(_ config: ProxyConfig, _ tracing: String?) -> ProxyConfig {
    var config = config
    config.tracing = tracing
    return config
}

extension Integration {
    @Suite("Trace context")
    struct TraceContext {
        @Test func aValidTraceContextReachesAnHTTP1UpstreamUnchanged() throws {
            let upstream = try TestUpstream { _ in .text("ok") }
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream)) { proxy in
                let client = try proxy.client()
                // A later version with a field appended is valid too (W3C Trace Context §3.2.4).
                let later = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future"
                for parent in [validParent, later] {
                    let r = try client.get("/", headers: [HTTPField("traceparent", parent), HTTPField("tracestate", validState)])
                    #expect(r.status == 200)
                }
                let seen = upstream.requests
                #expect(seen.count == 2)
                for (request, parent) in zip(seen, [validParent, later]) {
                    #expect(request.headers.values("traceparent") == [parent])
                    #expect(request.headers.values("tracestate") == [validState])
                }
            }
        }

        @Test func anAbsentTraceparentIsStartedAfreshForEachRequest() throws {
            let upstream = try TestUpstream { _ in .text("ok") }
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream)) { proxy in
                let client = try proxy.client()
                #expect(try client.get("/a").status == 200)
                // A tracestate without a traceparent is meaningless and dropped (§3.3).
                #expect(try client.get("/b", headers: [HTTPField("tracestate", validState)]).status == 200)
                let seen = upstream.requests.map { $0.headers }
                #expect(seen.count == 2)
                #expect(seen.allSatisfy { $0.values("traceparent").count == 1 && isStarted($0["traceparent"]) }, "\(seen)")
                #expect(seen.allSatisfy { !$0.has("tracestate") })
                #expect(seen[0]["traceparent"] != seen[1]["traceparent"])
            }
        }

        @Test func anInvalidOrRepeatedTraceparentIsReplacedAndItsTracestateDropped() throws {
            let upstream = try TestUpstream { _ in .text("ok") }
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream)) { proxy in
                let client = try proxy.client()
                let invalid: [[HTTPField]] = [
                    [HTTPField("traceparent", validParent.uppercased())],
                    [HTTPField("traceparent", "00-00000000000000000000000000000000-00f067aa0ba902b7-01")],
                    [HTTPField("traceparent", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")],
                    [HTTPField("traceparent", validParent), HTTPField("traceparent", validParent)],
                ]
                for fields in invalid {
                    #expect(try client.get("/", headers: fields + [HTTPField("tracestate", validState)]).status == 200)
                }
                let seen = upstream.requests.map { $0.headers }
                #expect(seen.count == invalid.count)
                for headers in seen {
                    #expect(headers.values("traceparent").count == 1 && isStarted(headers["traceparent"]), "\(headers)")
                    #expect(!headers.has("tracestate"))
                }
            }
        }

        @Test func passChangesNothing() throws {
            let upstream = try TestUpstream { _ in .text("ok") }
            defer { upstream.stop() }
            try withProxy(withTracing(.single(primary: upstream), "{ traceparent: pass }")) { proxy in
                let client = try proxy.client()
                #expect(try client.get("/", headers: [HTTPField("traceparent", "junk"), HTTPField("tracestate", "a=1")]).status == 200)
                #expect(try client.get("/").status == 200)
                let seen = upstream.requests.map { $0.headers }
                #expect(seen.count == 2)
                #expect(seen[0].values("traceparent") == ["junk"] && seen[0].values("tracestate") == ["a=1"])
                #expect(!seen[1].has("traceparent") && !seen[1].has("tracestate"))
            }
        }

        @Test func anHTTP2ClientsTraceContextIsKeptOrStartedForAnHTTP1Upstream() throws {
            try H2Tools.requirePythonH2()
            let upstream = try TestUpstream { _ in .text("ok") }
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream)) { proxy in
                _ = try curlH2(proxy.port, "/kept", headers: ["traceparent: \(validParent)", "tracestate: \(validState)"])
                _ = try curlH2(proxy.port, "/invalid", headers: ["traceparent: \(validParent.uppercased())", "tracestate: \(validState)"])
                let seen = upstream.requests
                #expect(seen.count == 2)
                #expect(seen[0].headers.values("traceparent") == [validParent] && seen[0].headers.values("tracestate") == [validState])
                #expect(isStarted(seen[1].headers["traceparent"]) && !seen[1].headers.has("tracestate"))
            }
        }

        @Test func anHTTP2UpstreamSeesTheSameRulesFromEitherClientProtocol() throws {
            let v1 = try H2UpstreamProcess(name: "v1")
            defer { v1.stop() }
            try withProxy(h2Config(v1, tracing: nil)) { proxy in
                let kept = [HTTPField("traceparent", validParent), HTTPField("tracestate", validState)]
                let h1Kept = try echoed(proxy.fetch(HTTPText.request("GET", "/echo", headers: kept)).body)
                #expect(h1Kept.values("traceparent") == [validParent] && h1Kept.values("tracestate") == [validState])
                let h1Started = try echoed(
                    proxy.fetch(HTTPText.request("GET", "/echo", headers: [HTTPField("tracestate", validState)])).body)
                #expect(h1Started.values("traceparent").count == 1 && isStarted(h1Started["traceparent"]) && !h1Started.has("tracestate"))

                let h2Kept = try echoed(
                    Array(curlH2(proxy.port, "/echo", headers: ["traceparent: \(validParent)", "tracestate: \(validState)"]).body.utf8))
                #expect(h2Kept.values("traceparent") == [validParent] && h2Kept.values("tracestate") == [validState])
                let h2Started = try echoed(Array(curlH2(proxy.port, "/echo").body.utf8))
                #expect(isStarted(h2Started["traceparent"]) && h2Started["traceparent"] != h1Started["traceparent"])
            }
        }

        @Test func aRetriedRequestCarriesTheTraceparentOfItsFirstAttempt() throws {
            let v1 = try H2UpstreamProcess(name: "v1")
            defer { v1.stop() }
            try withProxy(h2Config(v1, tracing: nil)) { proxy in
                // The upstream refuses each path's first stream unprocessed; the proxy sends it again.
                let h1 = try proxy.fetch(HTTPText.request("GET", "/refuse-once/h1"))
                let h2 = try curlH2(proxy.port, "/refuse-once/h2").fields
                for fields in [h1.headers, h2] {
                    #expect(fields["x-attempts"] == "2", "\(fields)")
                    #expect(isStarted(fields["x-first-traceparent"]))
                    #expect(fields["x-traceparent"] == fields["x-first-traceparent"])
                }
                #expect(h1.headers["x-traceparent"] != h2["x-traceparent"])
            }
        }

        @Test func aMirroredCopyCarriesTheTraceparentOfItsOriginal() throws {
            let primary = try TestUpstream(name: "primary", text: "same")
            defer { primary.stop() }
            let canary = try TestUpstream(name: "canary", text: "same")
            defer { canary.stop() }
            var route = RouteSpec(primary: ArmSpec("v1", primary), canary: ArmSpec("v2", canary), weight: 0)
            route.mirror = "{ compare: { latency: false } }"
            try withProxy(ProxyConfig(routes: [route])) { proxy in
                #expect(try proxy.client().get("/m").status == 200)
                #expect(canary.waitForRequests(1, timeout: 5))
                let original = try #require(primary.requests.first?.headers["traceparent"])
                #expect(isStarted(original))
                #expect(canary.requests.first?.headers["traceparent"] == original)
            }
        }
    }

    @Suite("Arm header")
    struct ArmHeader {
        @Test func eachResponseNamesItsArmAndRevisionAtAFiftyFiftySplit() throws {
            // Each upstream claims to be the other arm: the proxy's field replaces what they send.
            let primary = try TestUpstream(name: "primary") { _ in
                .text("primary", headers: [HTTPField("X-Canarygate-Arm", "canary/forged")])
            }
            defer { primary.stop() }
            let canary = try TestUpstream(name: "canary") { _ in .text("canary", headers: [HTTPField("x-canarygate-arm", "primary/forged")])
            }
            defer { canary.stop() }
            let config = withTracing(.single(primary: primary, canary: canary, weight: 50), "{ armHeader: true }")
            try withProxy(config) { proxy in
                let client = try proxy.client()
                var served: [String: Int] = [:]
                for i in 0..<20 {
                    let r = try client.get("/\(i)")
                    #expect(r.status == 200)
                    #expect(r.headers.values("x-canarygate-arm").count == 1, "\(r.headers)")
                    let expected = r.text == "primary" ? "primary/v1" : "canary/v2"
                    #expect(r.headers["x-canarygate-arm"] == expected)
                    served[r.text, default: 0] += 1
                }
                // 20 requests at 50 are within one block of 100: both arms answer, in some proportion.
                #expect(served["primary", default: 0] > 0 && served["canary", default: 0] > 0, "\(served)")
            }
        }

        @Test func offByDefaultNothingIsAddedOrRemoved() throws {
            let upstream = try TestUpstream { _ in .text("ok", headers: [HTTPField("x-canarygate-arm", "mine")]) }
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream)) { proxy in
                let r = try proxy.client().get("/")
                #expect(r.headers.values("x-canarygate-arm") == ["mine"])
            }
        }

        @Test func theProxysOwnFailureForAnArmNamesIt() throws {
            let closed = try Posix.freePort()
            var config = ProxyConfig.single(primaryEndpoints: ["127.0.0.1:\(closed)"])
            config.tracing = "{ armHeader: true, armHeaderName: X-Served-By }"
            try withProxy(config) { proxy in
                let r = try proxy.client().get("/")
                #expect(r.status == 502)
                #expect(r.headers.values("x-served-by") == ["primary/v1"])
                // The same over HTTP/2 (the stream's own 502).
                let h2 = try curlH2(proxy.port, "/")
                #expect(h2.fields.values("x-served-by") == ["primary/v1"], "\(h2.fields)")
                // A request refused before it is routed (no Host) has no arm to name.
                let none = try proxy.client().get("/", host: nil)
                #expect(none.headers["x-served-by"] == nil)
            }
        }

        @Test func aReloadTurnsTheHeaderOnAndTraceStartingOff() throws {
            let upstream = try TestUpstream { _ in .text("ok") }
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream)) { proxy in
                let before = try proxy.fetch(HTTPText.request("GET", "/before"))
                #expect(!before.headers.has("x-canarygate-arm"))
                #expect(isStarted(upstream.requests.last?.headers["traceparent"]))
                try proxy.rewriteConfig(withTracing(.single(primary: upstream), "{ traceparent: pass, armHeader: true }"))
                let state = try proxy.reloadBySignal()
                #expect(state.failures == 0)
                // Loops take the new snapshot from their mailboxes: poll (bounded) for a request served under it.
                let deadline = Date().addingTimeInterval(5)
                var after = try proxy.fetch(HTTPText.request("GET", "/after"))
                while !after.headers.has("x-canarygate-arm") && Date() < deadline {
                    usleep(20_000)
                    after = try proxy.fetch(HTTPText.request("GET", "/after"))
                }
                #expect(after.headers["x-canarygate-arm"] == "primary/v1")
                #expect(upstream.requests.last?.headers.has("traceparent") == false)
            }
        }

        @Test func anHTTP2ClientSeesTheArmOfAnHTTP1Upstream() throws {
            try H2Tools.requirePythonH2()
            let upstream = try TestUpstream { _ in .text("ok", headers: [HTTPField("x-canarygate-arm", "forged")]) }
            defer { upstream.stop() }
            try withProxy(withTracing(.single(primary: upstream), "{ armHeader: true }")) { proxy in
                let r = try curlH2(proxy.port, "/")
                #expect(r.fields.values("x-canarygate-arm") == ["primary/v1"])
            }
        }

        @Test func aGRPCResponseCarriesTheArmInItsHeadNotItsTrailers() throws {
            let v1 = try H2UpstreamProcess(name: "v1")
            defer { v1.stop() }
            let v2 = try H2UpstreamProcess(name: "v2")
            defer { v2.stop() }
            // h2upstream.py names itself in `x-upstream`: as the arm header's name, the proxy must replace it.
            try withProxy(h2Config(v1, canary: v2, weight: 50, tracing: "{ armHeader: true, armHeaderName: x-upstream }")) { proxy in
                var seen = Set<String>()
                for _ in 0..<12 {
                    let run = try H2Client.run(
                        "request", port: proxy.port,
                        [
                            "--path", "/grpc/pkg.Service/Call", "--method", "POST", "--header", "content-type:application/grpc",
                            "--header", "te:trailers", "--body-bytes", "5",
                        ])
                    #expect(run.ok, "\(run)")
                    let stream = try #require(run.streams.first)
                    #expect(stream.status == 200)
                    let arm = try #require(stream.headers["x-upstream"])
                    #expect(stream.headers.values("x-upstream").count == 1 && ["primary/v1", "canary/v2"].contains(arm))
                    let trailers = (run.json["streams"] as? [[String: Any]])?.first?["trailers"] as? [[String]] ?? []
                    #expect(trailers.contains { $0.first == "grpc-status" } && !trailers.contains { $0.first == "x-upstream" })
                    seen.insert(arm)
                }
                #expect(seen.count == 2, "both arms answered: \(seen)")
                // An HTTP/1.1 client of the same route (relayed to HTTP/2) is told the arm too.
                let r = try proxy.fetch(HTTPText.request("GET", "/echo"))
                #expect(["primary/v1", "canary/v2"].contains(r.headers["x-upstream"] ?? "") && r.headers.values("x-upstream").count == 1)
            }
        }
    }
}
