// Downstream HTTP/2 with real clients: curl (h2c prior knowledge and h2 over TLS), openssl s_client ALPN,
// nghttp multiplexing, h2load, forwarding as the upstream sees it, and per-arm metrics per stream.
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension Integration {
    @Suite("HTTP/2")
    struct HTTP2 {
        /// A proxy config with one route to `upstream` and a TLS listener on `tlsPort` (certificate in `dir`).
        static func curl(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
            try H2Tools.require(H2Tools.curl, package: "curl")
            return try ChildProcess.run(H2Tools.curl, ["-s", "-S", "--max-time", "10"] + arguments, timeout: 15)
        }

        /// The `requests:` and `status codes:` lines of an h2load run.
        static func h2loadSummary(_ output: String) -> (requests: String, codes: String) {
            let lines = output.split(separator: "\n").map(String.init)
            return (
                lines.first { $0.hasPrefix("requests:") } ?? "no requests line",
                lines.first { $0.hasPrefix("status codes:") } ?? "no status codes line"
            )
        }

        static func h2load(_ url: String, requests: Int, clients: Int, streams: Int) throws -> (status: Int32, output: String) {
            try H2Tools.require(H2Tools.h2load, package: "nghttp2-client")
            let result = try ChildProcess.run(
                H2Tools.h2load,
                [
                    "-n", String(requests), "-c", String(clients), "-m", String(streams),
                    "-T", "20", url,
                ], timeout: 60)
            return (result.status, result.stdout + result.stderr)
        }

        @Test func curlWithPriorKnowledgeOnThePlainListenerWhichStillSpeaksHTTP11() throws {
            let upstream = try TestUpstream { request in .text("hello \(request.target)") }
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream)) { proxy in
                let h2 = try Self.curl(["--http2-prior-knowledge", "-w", "\n%{http_version}", "http://127.0.0.1:\(proxy.port)/hello?x=1"])
                #expect(h2.status == 0, "curl: \(h2.stderr)")
                #expect(h2.stdout == "hello /hello?x=1\n2", "\(h2.stdout.debugDescription)")
                let seen = try #require(upstream.requests.last)
                #expect(seen.method == "GET" && seen.target == "/hello?x=1" && seen.version == "HTTP/1.1", "\(seen)")
                #expect(seen.headers["host"] == "127.0.0.1:\(proxy.port)", "host from :authority: \(seen.headers)")
                #expect(seen.headers["x-forwarded-proto"] == "http", "\(seen.headers)")
                #expect(seen.headers.values("x-forwarded-for") == ["127.0.0.1"], "\(seen.headers)")
                #expect(seen.headers["user-agent"]?.hasPrefix("curl/") == true, "\(seen.headers)")
                #expect(!seen.headers.contains { $0.name.hasPrefix(":") }, "pseudo-headers reached the upstream: \(seen.headers)")

                // The same listener, HTTP/1.1: raw bytes and curl.
                let h1 = try proxy.fetch(HTTPText.request("GET", "/h1"))
                #expect(h1.status == 200 && h1.text == "hello /h1", "\(h1.status) \(h1.text)")
                let curl11 = try Self.curl(["--http1.1", "-w", "\n%{http_version}", "http://127.0.0.1:\(proxy.port)/h11"])
                #expect(curl11.stdout == "hello /h11\n1.1", "\(curl11.stdout.debugDescription) \(curl11.stderr)")
            }
        }

        @Test func curlOverTLSNegotiatesH2AndGetsALargeBodyIntact() throws {
            let dir = try TempDir.make()
            defer { dir.remove() }
            let size = 2 << 20
            let upstream = try TestUpstream { request in
                request.path == "/big" ? .respond(UpstreamResponse(body: .pattern(count: size, chunked: true))) : .text("over h2")
            }
            defer { upstream.stop() }
            let (config, tlsPort, _) = try ProxyConfig.single(primary: upstream).withTLSListener(in: dir)
            try withProxy(config) { _ in
                let h2 = try Self.curl(["-k", "--http2", "-w", "\n%{http_version}", "https://127.0.0.1:\(tlsPort)/hello"])
                #expect(h2.status == 0, "curl: \(h2.stderr)")
                #expect(h2.stdout == "over h2\n2", "\(h2.stdout.debugDescription)")
                let seen = try #require(upstream.requests.last)
                #expect(seen.headers["x-forwarded-proto"] == "https", "\(seen.headers)")
                #expect(seen.headers["host"] == "127.0.0.1:\(tlsPort)", "\(seen.headers)")

                let file = dir.url.appendingPathComponent("big.bin")
                let big = try Self.curl([
                    "-k", "--http2", "-o", file.path, "-w", "%{http_version} %{http_code}", "https://127.0.0.1:\(tlsPort)/big",
                ])
                #expect(big.status == 0 && big.stdout == "2 200", "\(big.stdout) \(big.stderr)")
                let body = try [UInt8](Data(contentsOf: file))
                #expect(byteDiff(body, BodyPattern.bytes(count: size)) == nil, "\(byteDiff(body, BodyPattern.bytes(count: size)) ?? "")")

                // ALPN http/1.1 still gets HTTP/1.1.
                let h1 = try Self.curl(["-k", "--http1.1", "-w", "\n%{http_version}", "https://127.0.0.1:\(tlsPort)/one"])
                #expect(h1.stdout == "over h2\n1.1", "\(h1.stdout.debugDescription) \(h1.stderr)")
            }
        }

        @Test func opensslSClientSelectsH2ByALPN() throws {
            let dir = try TempDir.make()
            defer { dir.remove() }
            let upstream = try TestUpstream(text: "ok")
            defer { upstream.stop() }
            let (config, tlsPort, _) = try ProxyConfig.single(primary: upstream).withTLSListener(in: dir)
            try withProxy(config) { _ in
                for (offer, want) in [("h2", "h2"), ("h2,http/1.1", "h2"), ("http/1.1,h2", "h2"), ("http/1.1", "http/1.1")] {
                    let result = try ChildProcess.run(
                        H2Tools.openssl,
                        [
                            "s_client", "-connect", "127.0.0.1:\(tlsPort)", "-servername", "localhost",
                            "-alpn", offer,
                        ], stdin: "", timeout: 10)
                    let output = result.stdout + result.stderr
                    #expect(output.contains("ALPN protocol: \(want)\n"), "offering \(offer): \(output.suffix(1500))")
                }
            }
        }

        @Test func nghttpMultiplexesConcurrentRequestsOnOneConnection() throws {
            try H2Tools.require(H2Tools.nghttp, package: "nghttp2-client")
            let dir = try TempDir.make()
            defer { dir.remove() }
            let upstream = try TestUpstream { request in .text("n \(request.path)") }
            defer { upstream.stop() }
            let (config, tlsPort, _) = try ProxyConfig.single(primary: upstream).withTLSListener(in: dir)
            try withProxy(config) { proxy in
                for base in ["http://127.0.0.1:\(proxy.port)", "https://127.0.0.1:\(tlsPort)"] {
                    let before = upstream.requestCount
                    let paths = (0..<10).map { "/n\($0)" }
                    let result = try ChildProcess.run(H2Tools.nghttp, ["-nv", "-t", "10"] + paths.map { base + $0 }, timeout: 20)
                    let output = result.stdout + result.stderr
                    #expect(result.status == 0, "nghttp \(base): exit \(result.status)\n\(output.suffix(3000))")
                    let statuses = output.split(separator: "\n").filter { $0.contains("recv (stream_id=") && $0.contains(":status: ") }
                    #expect(statuses.count == 10 && statuses.allSatisfy { $0.hasSuffix(":status: 200") }, "\(base): \(statuses)")
                    #expect(
                        output.components(separatedBy: "] Connected").count - 1 == 1, "\(base): not one connection\n\(output.prefix(2000))")
                    if base.hasPrefix("https") { #expect(output.contains("The negotiated protocol: h2"), "\(output.prefix(2000))") }
                    #expect(upstream.waitForRequests(before + 10))
                    #expect(upstream.requests.dropFirst(before).map(\.path).sorted() == paths.sorted())
                }
            }
        }

        @Test func h2loadTwoThousandRequestsOverH2cAndOneThousandOverTLSWithoutFailures() throws {
            let dir = try TempDir.make()
            defer { dir.remove() }
            let upstream = try TestUpstream(text: "load")
            defer { upstream.stop() }
            let (config, tlsPort, _) = try ProxyConfig.single(primary: upstream).withTLSListener(in: dir)
            try withProxy(config) { proxy in
                let plain = try Self.h2load("http://127.0.0.1:\(proxy.port)/", requests: 2000, clients: 4, streams: 20)
                let plainSummary = Self.h2loadSummary(plain.output)
                #expect(plain.status == 0, "h2load exit \(plain.status)\n\(plain.output.suffix(2000))")
                #expect(plainSummary.requests.contains("2000 succeeded, 0 failed, 0 errored, 0 timeout"), "\(plainSummary.requests)")
                #expect(plainSummary.codes.hasPrefix("status codes: 2000 2xx"), "\(plainSummary.codes)")

                let tls = try Self.h2load("https://127.0.0.1:\(tlsPort)/", requests: 1000, clients: 2, streams: 10)
                let tlsSummary = Self.h2loadSummary(tls.output)
                #expect(tls.status == 0, "h2load exit \(tls.status)\n\(tls.output.suffix(2000))")
                #expect(tls.output.contains("Application protocol: h2"), "\(tls.output.suffix(2000))")
                #expect(tlsSummary.requests.contains("1000 succeeded, 0 failed, 0 errored, 0 timeout"), "\(tlsSummary.requests)")
                #expect(tlsSummary.codes.hasPrefix("status codes: 1000 2xx"), "\(tlsSummary.codes)")
                #expect(upstream.requestCount == 3000)
            }
        }

        /// One connection carrying many streams does not grow with them: nghttp2 kept every closed stream
        /// (≈ 300 bytes each) for as long as the connection lived, because the proxy never gives nghttp2
        /// its own stream limit. 30,000 streams on one connection grew the proxy by ~9 MB before the fix.
        @Test func aLongLivedConnectionDoesNotGrowWithItsStreams() throws {
            let upstream = try TestUpstream(text: "x")
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream), threads: 1) { proxy in
                let warm = try Self.h2load("http://127.0.0.1:\(proxy.port)/", requests: 2_000, clients: 1, streams: 10)
                #expect(warm.status == 0, "\(warm.output.suffix(1000))")
                let before = try #require(proxy.rssKiB())
                let run = try Self.h2load("http://127.0.0.1:\(proxy.port)/", requests: 30_000, clients: 1, streams: 10)
                #expect(Self.h2loadSummary(run.output).requests.contains("30000 succeeded, 0 failed"), "\(Self.h2loadSummary(run.output))")
                let after = try #require(proxy.rssKiB())
                #expect(after - before < 3_000, "RSS grew \(after - before) KiB over 30,000 streams on one connection")
            }
        }

        /// One POST stream with a 100 KB body and no content-length: the upstream sees :authority as
        /// Host, the method, path, the client's fields, X-Forwarded-*, and the whole body; the client
        /// sees the upstream's status, fields and chunked body, without hop-by-hop fields. :authority
        /// also chooses the route.
        @Test func forwardedStreamCarriesAuthorityMethodPathFieldsAndBodyBothWays() throws {
            let upstream = try TestUpstream { _ in
                .respond(
                    UpstreamResponse(
                        status: 201,
                        headers: [
                            HTTPField("Connection", "x-private"),
                            HTTPField("X-Private", "secret"),
                            HTTPField("Keep-Alive", "timeout=30"),
                            HTTPField("Upgrade", "h2c"),
                            HTTPField("X-Up", "1"),
                        ], body: .chunked(["hello ".bytes, "from ".bytes, "upstream".bytes])))
            }
            let routed = try TestUpstream(name: "routed") { request in .text("routed \(request.target)") }
            defer { upstream.stop(); routed.stop() }
            let config = ProxyConfig(routes: [
                RouteSpec("web", primary: ArmSpec("v1", upstream)),
                RouteSpec("byhost", host: "routed.test", primary: ArmSpec("v1", routed)),
            ])
            try withProxy(config) { proxy in
                let size = 100_000
                let run = try H2Client.run(
                    "request", port: proxy.port,
                    [
                        "--authority", "example.test", "--method", "POST", "--path", "/path/x?q=1&r=2",
                        "--header", "x-custom: kept", "--header", "x-forwarded-for: 10.0.0.1", "--header", "user-agent: h2itest",
                        "--body-bytes", String(size), "--lenient-headers",
                    ])
                try #require(run.ok, "\(run)")
                let response = try #require(run.streams.first)
                #expect(response.succeeded(201) && response.body == "hello from upstream", "\(response)")
                #expect(response.headers["x-up"] == "1", "\(response.headers)")
                for name in ["connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection"] {
                    #expect(!response.headers.has(name), "hop-by-hop \(name) in an h2 response: \(response.headers)")
                }

                let seen = try #require(upstream.requests.last)
                #expect(seen.method == "POST" && seen.target == "/path/x?q=1&r=2", "\(seen.method) \(seen.target)")
                #expect(seen.headers.values("host") == ["example.test"], "\(seen.headers)")
                #expect(seen.headers["x-custom"] == "kept" && seen.headers["user-agent"] == "h2itest", "\(seen.headers)")
                #expect(seen.headers["x-forwarded-proto"] == "http", "\(seen.headers)")
                let forwardedFor = seen.headers.values("x-forwarded-for").flatMap { $0.split(separator: ",") }
                    .map { $0.trimmingCharacters(in: .whitespaces) }
                #expect(forwardedFor == ["10.0.0.1", "127.0.0.1"], "X-Forwarded-For: \(seen.headers.values("x-forwarded-for"))")
                #expect(!seen.headers.contains { $0.name.hasPrefix(":") }, "pseudo-headers reached the upstream: \(seen.headers)")
                #expect(
                    seen.complete && seen.bodyCount == size && seen.bodyMatchesPattern,
                    "upstream body: \(seen.bodyCount) bytes, complete \(seen.complete), intact \(seen.bodyMatchesPattern)")
                #expect(seen.framing == .chunked || seen.framing == .contentLength(size), "framing \(seen.framing)")

                let byHost = try H2Client.run("request", port: proxy.port, ["--authority", "routed.test", "--path", "/r", "--path", "/s"])
                try #require(byHost.ok, "\(byHost)")
                #expect(byHost.streams.map(\.body) == ["routed /r", "routed /s"], "\(byHost)")
                #expect(routed.requests.map { $0.headers["host"] ?? "" } == ["routed.test", "routed.test"])
            }
        }

        /// 200 streams (h2load, 10 at a time on one connection, one loop) at weight 20: each stream is
        /// one request in `/metrics`, on the arm that answered it.
        @Test func metricsCountEachStreamOnceOnItsArm() throws {
            let primary = try TestUpstream(name: "primary", text: "primary")
            let canary = try TestUpstream(name: "canary", text: "canary")
            defer { primary.stop(); canary.stop() }
            let n = 200
            try withProxy(.single(primary: primary, canary: canary, weight: 20), threads: 1) { proxy in
                let load = try Self.h2load("http://127.0.0.1:\(proxy.port)/split", requests: n, clients: 1, streams: 10)
                #expect(Self.h2loadSummary(load.output).requests.contains("\(n) succeeded, 0 failed"), "\(load.output.suffix(2000))")
                #expect(primary.requestCount + canary.requestCount == n)
                #expect((39...41).contains(canary.requestCount), "\(canary.requestCount) of \(n) streams went to the canary at weight 20")

                typealias M = Integration.Metrics
                let metrics = try M.scrape(proxy) { $0.sum(M.requests, ["route": "web"]) >= Double(n) }
                let p200 = metrics.value(M.requests, ["route": "web", "arm": "primary", "code": "200"])
                let c200 = metrics.value(M.requests, ["route": "web", "arm": "canary", "code": "200"])
                #expect(
                    p200 == Double(primary.requestCount),
                    "primary: \(p200.map { "\($0)" } ?? "missing"), upstream saw \(primary.requestCount)")
                #expect(
                    c200 == Double(canary.requestCount), "canary: \(c200.map { "\($0)" } ?? "missing"), upstream saw \(canary.requestCount)"
                )
                #expect(metrics.sum(M.requests, ["route": "web"]) == Double(n), "\(metrics.samples(M.requests))")
                M.checkHistogram(metrics, route: "web", arm: "primary", expectedCount: primary.requestCount)
                M.checkHistogram(metrics, route: "web", arm: "canary", expectedCount: canary.requestCount)
            }
        }
    }
}
