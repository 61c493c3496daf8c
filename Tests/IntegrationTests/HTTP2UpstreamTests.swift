// HTTP/2 upstreams (`protocol: h2`): gRPC-style exchanges with trailers intact and counted per arm, large bodies, resets, failures.
import Foundation
import Testing

/// What one `curl -v` over h2c saw: status, response fields and trailers (curl prints both as "< name: value"), body.
private struct CurlH2Result {
    var exitCode: Int32
    var status: Int?
    var fields: [String: String] = [:]
    var body: String

    init(_ run: (status: Int32, stdout: String, stderr: String)) {
        exitCode = run.status
        body = run.stdout
        for line in run.stderr.split(whereSeparator: \.isNewline) where line.hasPrefix("< ") {
            let text = line.dropFirst(2).trimmingCharacters(in: .whitespacesAndNewlines)
            if text.hasPrefix("HTTP/2 ") { status = Int(text.dropFirst(7).prefix(3)) }
            if let colon = text.firstIndex(of: ":"), colon != text.startIndex {
                fields[text[..<colon].lowercased()] = text[text.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
    }
}

private func curlH2(_ port: UInt16, _ path: String, _ extra: [String] = []) throws -> CurlH2Result {
    CurlH2Result(
        try ChildProcess.run(
            H2Tools.curl,
            ["-sv", "--http2-prior-knowledge", "--max-time", "10"] + extra
                + ["http://127.0.0.1:\(port)\(path)"], timeout: 15))
}

/// One route whose arms are HTTP/2 upstreams.
private func h2Route(primary: H2UpstreamProcess, canary: H2UpstreamProcess? = nil, weight: Int = 0) -> ProxyConfig {
    var p = ArmSpec("v1", [primary.endpoint])
    p.upstreamProtocol = "h2"
    var c = canary.map { ArmSpec("v2", [$0.endpoint]) }
    c?.upstreamProtocol = "h2"
    return ProxyConfig(routes: [RouteSpec("grpc", primary: p, canary: c, weight: weight)])
}

extension Integration {
    @Suite("HTTP/2 upstreams")
    struct HTTP2UpstreamTests {
        @Test func grpcTrailersArriveIntactAndFailingStatusesCountOnTheirArm() throws {
            let v1 = try H2UpstreamProcess(name: "v1")
            defer { v1.stop() }
            let v2 = try H2UpstreamProcess(name: "v2")
            defer { v2.stop() }
            try withProxy(h2Route(primary: v1, canary: v2, weight: 50), threads: 1) { proxy in
                var answeredBy: [String: Int] = [:]
                var failedBy: [String: Int] = [:]
                // 14 (UNAVAILABLE) fails the arm; 5 (NOT_FOUND) is an answer about the request; 0 is success.
                for (i, code) in ["14", "5", "0", "14", "0", "5", "14", "0", "0", "14"].enumerated() {
                    let message = "request \(i)"
                    let r = try curlH2(
                        proxy.port, "/grpc/pkg.Service/Call",
                        [
                            "-H", "content-type: application/grpc", "-H", "te: trailers", "-H", "x-grpc-status: \(code)",
                            "--data-binary", message,
                        ])
                    #expect(r.exitCode == 0)
                    #expect(r.status == 200)
                    #expect(r.body == message, "the request body came back through the upstream")
                    let arm = try #require(r.fields["x-upstream"])
                    #expect(r.fields["content-type"] == "application/grpc")
                    #expect(r.fields["grpc-status"] == code, "the trailer reached the client")
                    #expect(r.fields["grpc-message"] == "from \(arm)")
                    answeredBy[arm, default: 0] += 1
                    if code == "14" { failedBy[arm, default: 0] += 1 }
                }
                // 10 requests are a tenth of one block of 100: which arm answers each is random, only
                // the sum is fixed; the metrics below must match whichever arm answered.
                #expect(answeredBy.values.reduce(0, +) == 10, "\(answeredBy)")
                let metrics = try Integration.Metrics.scrape(proxy) {
                    $0.sum("canarygate_requests_total", ["route": "grpc"]) >= 10
                }
                for (arm, name) in [("primary", "v1"), ("canary", "v2")] {
                    let labels = ["route": "grpc", "arm": arm]
                    // An arm that answered nothing may have no sample at all.
                    #expect(
                        (metrics.value("canarygate_requests_total", labels.merging(["code": "200"]) { $1 }) ?? 0)
                            == Double(answeredBy[name] ?? 0))
                    #expect(
                        (metrics.value("canarygate_upstream_failures_total", labels.merging(["source": "grpc_error"]) { $1 }) ?? 0)
                            == Double(failedBy[name] ?? 0), "grpc-status 14 counted against \(arm), 5 and 0 not")
                }
            }
        }

        @Test func largeBodiesCrossAnHTTP2UpstreamBothWays() throws {
            let v1 = try H2UpstreamProcess(name: "v1")
            defer { v1.stop() }
            let dir = try TempDir.make()
            defer { dir.remove() }
            let upload = dir.url.appendingPathComponent("upload")
            try Data(repeating: 0x61, count: 3_000_000).write(to: upload)
            try withProxy(h2Route(primary: v1)) { proxy in
                let down = try ChildProcess.run(
                    H2Tools.curl,
                    [
                        "-s", "--http2-prior-knowledge", "--max-time", "20", "-o", "/dev/null",
                        "-w", "%{http_code} %{size_download}", "http://127.0.0.1:\(proxy.port)/big/4000000",
                    ],
                    timeout: 25)
                #expect(down.stdout == "200 4000000")
                let up = try curlH2(proxy.port, "/echo", ["--data-binary", "@\(upload.path)"])
                #expect(up.status == 200)
                let doc = try #require(try JSONSerialization.jsonObject(with: Data(up.body.utf8)) as? [String: Any])
                #expect(doc["bodyLength"] as? Int == 3_000_000)
                #expect(doc["method"] as? String == "POST")
                let fields = (doc["fields"] as? [[String]] ?? []).map { $0.joined(separator: ": ") }
                #expect(fields.contains("x-forwarded-proto: http"))
                #expect(fields.contains("x-forwarded-for: 127.0.0.1"))
                #expect(fields.contains(":authority: 127.0.0.1:\(proxy.port)"))
            }
        }

        @Test func anUpstreamResetCutsTheStreamAndCountsAgainstTheArm() throws {
            let v1 = try H2UpstreamProcess(name: "v1")
            defer { v1.stop() }
            try withProxy(h2Route(primary: v1)) { proxy in
                let cut = try curlH2(proxy.port, "/reset")
                #expect(cut.exitCode != 0, "the client sees its stream reset, not a complete response")
                // The connection and the upstream stay usable.
                let next = try curlH2(proxy.port, "/echo")
                #expect(next.status == 200)
                let metrics = try Integration.Metrics.scrape(proxy) {
                    ($0.value("canarygate_upstream_failures_total", ["route": "grpc", "arm": "primary", "source": "upstream_reset"]) ?? 0)
                        >= 1
                }
                #expect(
                    metrics.value("canarygate_upstream_failures_total", ["route": "grpc", "arm": "primary", "source": "upstream_reset"])
                        == 1)
                #expect(metrics.value("canarygate_requests_total", ["route": "grpc", "arm": "primary", "code": "502"]) == 1)
            }
        }

        @Test func aDeadHTTP2UpstreamIsA502NamingTheReason() throws {
            let closed = try Posix.freePort()
            var arm = ArmSpec("v1", ["127.0.0.1:\(closed)"])
            arm.upstreamProtocol = "h2"
            try withProxy(ProxyConfig(routes: [RouteSpec("grpc", primary: arm)])) { proxy in
                let r = try curlH2(proxy.port, "/grpc/x")
                #expect(r.status == 502)
                #expect(r.body.contains("connection refused"))
            }
        }

        @Test func grpcFromAnHTTP11ClientIsRefusedAsNowWhileAPlainHTTP11RequestReachesAnHTTP2Upstream() throws {
            let v1 = try H2UpstreamProcess(name: "v1")
            defer { v1.stop() }
            try withProxy(h2Route(primary: v1)) { proxy in
                let grpc = try proxy.fetch(
                    Array(
                        "POST /grpc/pkg.Service/Call HTTP/1.1\r\nHost: x\r\nContent-Type: application/grpc+proto\r\nContent-Length: 0\r\n\r\n"
                            .utf8))
                #expect(grpc.status == 505)
                #expect(grpc.text.contains("HTTP/2"))
                let metrics = try Integration.Metrics.scrape(proxy)
                #expect(metrics.sum("canarygate_requests_total", ["route": "grpc"]) == 0, "not counted against an arm")
                let plain = try proxy.fetch(Array("GET /echo HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
                #expect(plain.status == 200)
                #expect(plain.headers["x-upstream"] == "v1")
            }
        }
    }
}

extension Integration.HTTP2UpstreamTests {
    @Test func aReloadThatRemovesAnHTTP2EndpointLetsItsStreamsInFlightFinish() throws {
        let v1 = try H2UpstreamProcess(name: "v1")
        defer { v1.stop() }
        let v2 = try H2UpstreamProcess(name: "v2")
        defer { v2.stop() }
        try withProxy(h2Route(primary: v1), threads: 1) { proxy in
            let dir = try TempDir.make()
            defer { dir.remove() }
            let out = dir.url.appendingPathComponent("slow")
            // A one-second response in flight on v1 while the reload moves the route to v2.
            let slow = try ChildProcess(
                path: H2Tools.curl,
                arguments: [
                    "-s", "--http2-prior-knowledge", "--max-time", "10",
                    "-w", " %{http_code}", "http://127.0.0.1:\(proxy.port)/slow",
                ],
                stdoutPath: out.path)
            defer { slow.terminate(grace: 0) }
            usleep(300_000)
            try proxy.rewriteConfig(h2Route(primary: v2))
            #expect(try proxy.reloadBySignal().lastError == nil)
            #expect(try curlH2(proxy.port, "/echo").fields["x-upstream"] == "v2", "new streams go to the new endpoint")
            #expect(slow.wait(timeout: 10))
            #expect(
                (try? String(contentsOf: out, encoding: .utf8)) == "slow done 200", "the stream in flight on the removed endpoint finished")
        }
    }
}

extension Integration.HTTP2UpstreamTests {
    /// `protocol: h2` with `tls:`: verified TLS, "h2" chosen by ALPN, trailers intact; a wrong name is a TLS failure.
    @Test func anHTTP2UpstreamOverVerifiedTLS() throws {
        let dir = try TempDir.make()
        defer { dir.remove() }
        let cert = try makeTestCertificate("localhost", in: dir)
        let v1 = try H2UpstreamProcess(name: "v1", tls: (cert.certificate, cert.privateKey))
        defer { v1.stop() }
        func config(serverName: String) -> ProxyConfig {
            var arm = ArmSpec("v1", ["127.0.0.1:\(v1.port)"])
            arm.upstreamProtocol = "h2"
            arm.tls = (serverName, cert.certificate)
            return ProxyConfig(routes: [RouteSpec("grpc", primary: arm)])
        }
        try withProxy(config(serverName: "localhost")) { proxy in
            let r = try curlH2(
                proxy.port, "/grpc/pkg.Service/Call",
                [
                    "-H", "content-type: application/grpc", "-H", "x-grpc-status: 0",
                    "--data-binary", "over tls",
                ])
            #expect(r.status == 200)
            #expect(r.body == "over tls")
            #expect(r.fields["x-upstream"] == "v1")
            #expect(r.fields["grpc-status"] == "0", "trailers crossed the TLS upstream connection")
        }
        try withProxy(config(serverName: "not-localhost.example")) { proxy in
            let r = try curlH2(proxy.port, "/grpc/pkg.Service/Call")
            #expect(r.status == 502)
            #expect(r.body.contains("TLS"))
            let metrics = try Integration.Metrics.scrape(proxy)
            #expect(
                metrics.value("canarygate_upstream_failures_total", ["route": "grpc", "arm": "primary", "source": "tls_handshake_failed"])
                    == 1)
        }
    }
}

extension Integration.HTTP2UpstreamTests {
    /// RFC 9113 §8.7: a stream refused unprocessed is safe to send again; it is, once, and the arm is not blamed.
    @Test func aStreamTheUpstreamRefusedIsSentAgainWithItsBody() throws {
        let v1 = try H2UpstreamProcess(name: "v1")
        defer { v1.stop() }
        try withProxy(h2Route(primary: v1)) { proxy in
            let r = try curlH2(
                proxy.port, "/refuse-once/pkg.Service/Call",
                [
                    "-H", "content-type: application/grpc",
                    "--data-binary", "sent twice",
                ])
            #expect(r.status == 200)
            #expect(r.fields["x-attempts"] == "2", "the proxy sent the refused stream again")
            #expect(r.body == "sent twice", "the body was sent again intact")
            #expect(r.fields["grpc-status"] == "0")
            let metrics = try Integration.Metrics.scrape(proxy) {
                ($0.value("canarygate_requests_total", ["route": "grpc", "arm": "primary", "code": "200"]) ?? 0) >= 1
            }
            #expect(metrics.value("canarygate_requests_total", ["route": "grpc", "arm": "primary", "code": "200"]) == 1)
            #expect(
                (metrics.value("canarygate_upstream_failures_total", ["route": "grpc", "arm": "primary", "source": "upstream_reset"]) ?? 0)
                    == 0)
        }
    }
}
