// TLS to upstreams through the real binary: a verified HTTPS upstream serves, an upload leaves in whole records, a wrong server name is a 502, a bad caFile refuses the reload.
import Foundation
import Testing

extension Integration {
    @Suite("Upstream TLS")
    struct UpstreamTLSTests {
        /// One catch-all route to `upstream` over TLS.
        private static func config(_ upstream: TLSUpstream, serverName: String?, caFile: String?) -> ProxyConfig {
            var arm = ArmSpec("v1", [upstream.endpoint])
            arm.tls = (serverName, caFile)
            return ProxyConfig(routes: [RouteSpec(primary: arm)])
        }

        @Test func aVerifiedUpstreamServesOverTLSWithSNI() throws {
            let upstream = try TLSUpstream(name: "upstream.test", requireSNI: true)
            defer { upstream.stop() }
            try upstream.serve("hello.txt", "hello over tls\n")
            try withProxy(Self.config(upstream, serverName: "upstream.test", caFile: upstream.certificate)) { proxy in
                // s_server answers HTTP/1.0 and closes: each request is a fresh connection and handshake.
                for _ in 0..<3 {
                    let response = try proxy.fetch(HTTPText.request("GET", "/hello.txt"))
                    #expect(response.status == 200, "\(response.status) \(response.text)\n\(upstream.log)")
                    #expect(response.text == "hello over tls\n")
                }
                // An HTTP/2 client's stream is relayed over the same kind of upstream connection.
                let h2 = try ChildProcess.run(
                    "/usr/bin/curl",
                    [
                        "-s", "--http2-prior-knowledge", "--max-time", "10",
                        "http://127.0.0.1:\(proxy.port)/hello.txt",
                    ])
                #expect(h2.status == 0, "curl: \(h2.stderr)")
                #expect(h2.stdout == "hello over tls\n")
                #expect(upstream.log.components(separatedBy: "FILE:hello.txt").count - 1 == 4, "\(upstream.log)")
            }
        }

        @Test(.enabled(if: KeepAliveTLSUpstream.isAvailable, "needs nginx"))
        func aPooledTLSConnectionCarriesRequestAfterRequest() throws {
            let upstream = try KeepAliveTLSUpstream(name: "upstream.test")
            defer { upstream.stop() }
            var arm = ArmSpec("v1", [upstream.endpoint])
            arm.tls = ("upstream.test", upstream.certificate)
            try withProxy(ProxyConfig(routes: [RouteSpec(primary: arm)]), threads: 1) { proxy in
                var answers: Set<String> = []
                for _ in 0..<5 {
                    let response = try proxy.fetch(HTTPText.request())
                    #expect(response.status == 200, "\(response.status) \(response.text)")
                    answers.insert(response.text)
                }
                // One handshake, one upstream connection for all five (nginx counts its connections).
                #expect(answers.count == 1, "\(answers)")
                #expect(answers.first?.hasSuffix(" sni upstream.test session .\n") == true, "\(answers)")
            }
        }

        @Test(.enabled(if: KeepAliveTLSUpstream.isAvailable, "needs nginx"))
        func aNewConnectionResumesTheSessionOfThePreviousOne() throws {
            let upstream = try KeepAliveTLSUpstream(name: "upstream.test", requestsPerConnection: 1)
            defer { upstream.stop() }
            var arm = ArmSpec("v1", [upstream.endpoint])
            arm.tls = ("upstream.test", upstream.certificate)
            try withProxy(ProxyConfig(routes: [RouteSpec(primary: arm)]), threads: 1) { proxy in
                var answers: [String] = []
                for _ in 0..<3 { answers.append(try proxy.fetch(HTTPText.request()).text) }
                // nginx closes after each request: three connections, the later two resumed.
                #expect(Set(answers).count == 3, "\(answers)")
                #expect(answers.map { $0.hasSuffix(" session r\n") } == [false, true, true], "\(answers)")
                // A reload reloads the CA file: sessions verified under the old trust are not offered.
                #expect(try proxy.reloadBySignal().lastError == nil)
                let afterReload = [try proxy.fetch(HTTPText.request()).text, try proxy.fetch(HTTPText.request()).text]
                #expect(afterReload.map { $0.hasSuffix(" session r\n") } == [false, true], "\(afterReload)")
            }
        }

        /// A request body streamed to a TLS upstream goes out in whole 16 KiB records: a full read of the
        /// loop's 17 KiB buffer went out as a 16 KiB record and a 1 KiB one (two encryptions, two sends).
        /// The upstream counts the records its 1 MiB body came in: 64 at best, about 122 before.
        @Test func anUploadToATLSUpstreamTravelsInWholeRecords() throws {
            let dir = try TempDir.make()
            defer { dir.remove() }
            let (certificate, key) = try makeTestCertificate("upstream.test", in: dir)
            let port = try Posix.freePort()
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                .appendingPathComponent("Support/tls_records_upstream.py").path
            let log = dir.url.appendingPathComponent("upstream.log").path
            let upstream = try ChildProcess(path: H2Tools.python, arguments: [script, String(port), certificate, key], stdoutPath: log)
            defer { _ = upstream.terminate(grace: 1) }
            let ready = Posix.waitUntil(timeout: 10) { ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("ready") }
            try #require(ready, "the upstream did not start")
            var arm = ArmSpec("v1", ["127.0.0.1:\(port)"])
            arm.tls = ("upstream.test", certificate)
            try withProxy(ProxyConfig(routes: [RouteSpec(primary: arm)])) { proxy in
                let size = 1 << 20
                let client = try proxy.client(timeout: 10)
                defer { client.close() }
                try client.send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: \(size)\r\n\r\n")
                try Posix.sendAll(client.fd, [UInt8](repeating: 0x75, count: size), op: "body")
                let response = try client.readResponse(method: "POST")
                try #require(response.status == 200, "\(response.status) \(response.text)")
                let counts = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Int]
                #expect(counts?["bodyLength"] == size, "\(response.text)")
                #expect((counts?["records"] ?? .max) <= 80, "\(response.text)")
            }
        }

        @Test func aWrongServerNameIs502AndCountsEveryAttempt() throws {
            let upstream = try TLSUpstream(name: "upstream.test")
            defer { upstream.stop() }
            try upstream.serve("hello.txt", "unreachable\n")
            try withProxy(Self.config(upstream, serverName: "wrong.test", caFile: upstream.certificate), threads: 1) { proxy in
                let refused = try proxy.fetch(HTTPText.request("GET", "/hello.txt"))
                #expect(refused.status == 502)
                #expect(refused.text.contains("upstream TLS handshake failed"), "\(refused.text)")
                #expect(Posix.waitUntil(timeout: 2) { proxy.log.contains("hostname mismatch") }, "\(proxy.log)")
                // The arm's only endpoint stays in rotation: the next request fails the same way, not with a 503.
                #expect(try proxy.fetch(HTTPText.request("GET", "/hello.txt")).status == 502)
                // Each request made two attempts (one retry on the arm's only endpoint), each counted.
                let metrics = try proxy.admin("/metrics").text
                #expect(
                    metrics.contains("canarygate_upstream_failures_total{route=\"web\",arm=\"primary\",source=\"tls_handshake_failed\"} 4"))
                #expect(!upstream.log.contains("FILE:"), "nothing may be served: \(upstream.log)")
            }
        }

        @Test func aMissingCAFileRefusesTheReload() throws {
            let upstream = try TLSUpstream(name: "upstream.test")
            defer { upstream.stop() }
            try upstream.serve("hello.txt", "still served\n")
            var config = Self.config(upstream, serverName: "upstream.test", caFile: upstream.certificate)
            try withProxy(config) { proxy in
                let missing = upstream.certificate + ".missing"
                config.routes[0].primary.tls = ("upstream.test", missing)
                try proxy.rewriteConfig(config)
                let refused = try proxy.reloadBySignal()
                #expect(refused.failures == 1)
                #expect(
                    refused.lastError?.contains("route web, primary arm, tls: CA file \(missing): no such file") == true,
                    "\(refused.lastError ?? "no error")")
                #expect(try proxy.fetch(HTTPText.request("GET", "/hello.txt")).text == "still served\n")
            }
        }
    }
}
