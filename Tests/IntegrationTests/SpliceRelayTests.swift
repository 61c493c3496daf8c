// Bodies spliced between plain-TCP sockets: byte-exact both ways, keep-alive after them, failures mid-body, and the copy path where splice does not apply.
import Foundation
import Testing

extension Integration {
    @Suite("Splice relay")
    struct SpliceRelayTests {
        static let size = 4 * 1024 * 1024
        /// Body bytes the copy path may move before splicing starts: those read with the head (one
        /// loop buffer) and the rest of a short body. Anything spliced beyond proves the pipe ran.
        static let copiedBeforeSplice = 64 * 1024

        static func spliced(_ proxy: ProxyProcess, _ direction: String) throws -> Double {
            try Metrics.scrape(proxy).value("canarygate_spliced_bytes_total", ["direction": direction]) ?? -1
        }

        /// An upstream that serves `size` bytes of the pattern (Content-Length) on GET and takes a POST's body.
        static func bulkUpstream(size: Int = size) throws -> TestUpstream {
            try TestUpstream { request in
                switch request.method {
                case "POST": return .text("received")
                default:
                    if request.path == "/small" { return .text("small") }
                    return .respond(UpstreamResponse(body: .pattern(count: size, chunked: false)))
                }
            }
        }

        /// Reads a response whose body is the pattern, checking every byte; `pause` runs after each piece.
        static func readPattern(_ client: RawClient, pause: ((Int) -> Void)? = nil) throws -> (ClientResponse, PatternVerifier) {
            var verifier = PatternVerifier()
            let response = try client.readFinalResponse { piece in
                verifier.consume(piece)
                pause?(verifier.count)
            }.final
            return (response, verifier)
        }

        @Test func aDownloadIsByteExactAndSpliced() throws {
            let upstream = try Self.bulkUpstream()
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream)) { proxy in
                let client = try proxy.client(timeout: 15)
                try client.send(HTTPText.request("GET", "/download"))
                let (response, verifier) = try Self.readPattern(client)
                #expect(response.status == 200)
                #expect(verifier.count == Self.size && verifier.intact, "\(verifier.summary)")
                let spliced = try Self.spliced(proxy, "response")
                #expect(spliced >= Double(Self.size - Self.copiedBeforeSplice) && spliced <= Double(Self.size), "spliced \(spliced)")
                #expect(try Self.spliced(proxy, "request") == 0)
            }
        }

        @Test func anUploadIsByteExactAndSpliced() throws {
            let upstream = try Self.bulkUpstream()
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream)) { proxy in
                let client = try proxy.client(timeout: 15)
                try client.send(HTTPText.request("POST", "/upload", headers: [HTTPField("Content-Length", "\(Self.size)")]))
                try client.sendPattern(count: Self.size, chunked: false)
                let response = try client.readFinalResponse().final
                #expect(response.status == 200 && response.text == "received")
                let seen = try #require(upstream.requests.last)
                #expect(seen.complete && seen.bodyCount == Self.size && seen.bodyMatchesPattern, "\(seen.bodyCount) bytes")
                let spliced = try Self.spliced(proxy, "request")
                #expect(spliced >= Double(Self.size - Self.copiedBeforeSplice) && spliced <= Double(Self.size), "spliced \(spliced)")
                // The bytes counted for the arm are those the client sent, spliced or not.
                let metrics = try Metrics.scrape(proxy) {
                    ($0.sum("canarygate_received_bytes_total", ["route": "web"])) >= Double(Self.size)
                }
                let received = metrics.sum("canarygate_received_bytes_total", ["route": "web"])
                #expect(received > Double(Self.size) && received < Double(Self.size + 1024), "received \(received)")
            }
        }

        @Test func aCloseDelimitedResponseIsSplicedToItsEnd() throws {
            let size = 1024 * 1024
            let body = BodyPattern.bytes(count: size)
            let upstream = try TestUpstream { _ in .respond(UpstreamResponse(body: .closeDelimited(body))) }
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream)) { proxy in
                let client = try proxy.client(timeout: 15)
                try client.send(HTTPText.request("GET", "/until-close"))
                let (response, verifier) = try Self.readPattern(client)
                #expect(response.framing == .untilClose)
                #expect(verifier.count == size && verifier.intact, "\(verifier.summary)")
                #expect(client.waitForPeer(timeout: 2) == .closed)
                #expect(try Self.spliced(proxy, "response") >= Double(size - Self.copiedBeforeSplice))
            }
        }

        @Test func keepAliveCarriesLargeBodiesBothWaysOnOneUpstreamConnection() throws {
            let upstream = try Self.bulkUpstream()
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream)) { proxy in
                let client = try proxy.client(timeout: 15)
                for round in 1...2 {
                    try client.send(HTTPText.request("GET", "/download-\(round)"))
                    let (response, verifier) = try Self.readPattern(client)
                    #expect(response.status == 200 && verifier.count == Self.size && verifier.intact, "round \(round): \(verifier.summary)")
                    try client.send(HTTPText.request("POST", "/upload-\(round)", headers: [HTTPField("Content-Length", "\(Self.size)")]))
                    try client.sendPattern(count: Self.size, chunked: false)
                    #expect(try client.readFinalResponse().final.text == "received")
                }
                #expect(try client.get("/small").text == "small")
                #expect(upstream.requests.allSatisfy { $0.method == "GET" || ($0.bodyCount == Self.size && $0.bodyMatchesPattern) })
                #expect(upstream.requestCount == 5)
                #expect(upstream.connectionCount == 1, "every request on one reused upstream connection")
                #expect(try Self.spliced(proxy, "response") >= Double(2 * (Self.size - Self.copiedBeforeSplice)))
                #expect(try Self.spliced(proxy, "request") >= Double(2 * (Self.size - Self.copiedBeforeSplice)))
            }
        }

        @Test func aSlowReaderGetsEveryByte() throws {
            let upstream = try Self.bulkUpstream()
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream)) { proxy in
                let client = try proxy.client(timeout: 15)
                try client.send(HTTPText.request("GET", "/download"))
                // Nothing read at first, then short pauses every 512 KiB: the proxy meets a full client
                // socket again and again (a pipe holding bytes the client will not take yet).
                usleep(300_000)
                var nextPause = 512 * 1024
                let (response, verifier) = try Self.readPattern(client) { count in
                    if count >= nextPause {
                        nextPause += 512 * 1024
                        usleep(50_000)
                    }
                }
                #expect(response.status == 200)
                #expect(verifier.count == Self.size && verifier.intact, "\(verifier.summary)")
                #expect(try client.get("/small").text == "small")
                #expect(try Self.spliced(proxy, "response") >= Double(Self.size - Self.copiedBeforeSplice))
            }
        }

        @Test func anUpstreamThatClosesMidBodyCutsTheClientAndTheProxyServesOn() throws {
            let sent = 1024 * 1024
            let announced = 2 * sent
            let truncated = Array("HTTP/1.1 200 OK\r\nContent-Length: \(announced)\r\n\r\n".utf8) + BodyPattern.bytes(count: sent)
            let upstream = try TestUpstream { request in
                request.path == "/small" ? .text("small") : .raw(truncated)
            }
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream)) { proxy in
                let client = try proxy.client(timeout: 15)
                try client.send(HTTPText.request("GET", "/truncated"))
                var verifier = PatternVerifier()
                let outcome = Result { try client.readFinalResponse { verifier.consume($0) } }
                #expect(throws: (any Error).self, "the client must not see a complete response") { try outcome.get() }
                #expect(verifier.count <= sent && verifier.intact, "\(verifier.summary)")
                let labels = ["route": "web", "source": "upstream_closed"]
                let metrics = try Metrics.scrape(proxy) { $0.sum("canarygate_upstream_failures_total", labels) >= 1 }
                #expect(metrics.sum("canarygate_upstream_failures_total", labels) == 1)
                #expect(metrics.value("canarygate_spliced_bytes_total", ["direction": "response"]) ?? 0 > 0)
                #expect(try proxy.fetch(HTTPText.request("GET", "/small")).text == "small")
            }
        }

        @Test func aClientThatLeavesMidDownloadIsAnAbortAndTheProxyServesOn() throws {
            let upstream = try Self.bulkUpstream(size: 64 * 1024 * 1024)
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream)) { proxy in
                let client = try proxy.client(timeout: 15)
                try client.send(HTTPText.request("GET", "/huge"))
                var read = 0
                _ = Result {
                    try client.readFinalResponse { piece in
                        read += piece.count
                        if read >= 2 * 1024 * 1024 { throw CancellationError() }
                    }
                }
                client.resetClose()
                let labels = ["route": "web", "arm": "primary"]
                let metrics = try Metrics.scrape(proxy) { ($0.value("canarygate_downstream_aborts_total", labels) ?? 0) >= 1 }
                #expect(metrics.value("canarygate_downstream_aborts_total", labels) == 1)
                #expect(metrics.sum("canarygate_upstream_failures_total", ["route": "web"]) == 0)
                #expect(metrics.value("canarygate_spliced_bytes_total", ["direction": "response"]) ?? 0 > 0)
                #expect(try proxy.fetch(HTTPText.request("GET", "/small")).text == "small")
            }
        }

        @Test func aPipelinedRequestAfterAnUploadedBodyIsAnswered() throws {
            let upstream = try Self.bulkUpstream()
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream)) { proxy in
                let client = try proxy.client(timeout: 15)
                let size = 1024 * 1024
                try client.send(HTTPText.request("POST", "/upload", headers: [HTTPField("Content-Length", "\(size)")]))
                // The body's last piece and the next request leave in one send: a splice that moved a
                // byte past the body's end would give the upstream the next request's head as body.
                let body = BodyPattern.bytes(count: size)
                try client.send(Array(body[..<(size - 1000)]))
                try client.send(Array(body[(size - 1000)...]) + HTTPText.request("GET", "/small"))
                #expect(try client.readFinalResponse().final.text == "received")
                #expect(try client.readFinalResponse().final.text == "small")
                let requests = upstream.requests
                #expect(requests.count == 2)
                #expect(requests.first.map { $0.bodyCount == size && $0.bodyMatchesPattern } == true)
                #expect(requests.last?.path == "/small")
                #expect(try Self.spliced(proxy, "request") >= Double(size - Self.copiedBeforeSplice))
            }
        }

        @Test func withSpliceOffBodiesAreCopiedAndStillByteExact() throws {
            let upstream = try Self.bulkUpstream()
            defer { upstream.stop() }
            let config = ProxyConfig.single(primary: upstream)
            try withProxy(config) { proxy in
                try proxy.writeConfig(config.yaml(listenPort: proxy.port, adminPort: proxy.adminPort) + "limits:\n  splice: false\n")
                let reload = try proxy.reloadBySignal()
                #expect(reload.failures == 0, "\(reload)")
                let client = try proxy.client(timeout: 15)
                try client.send(HTTPText.request("GET", "/download"))
                let (response, verifier) = try Self.readPattern(client)
                #expect(response.status == 200 && verifier.count == Self.size && verifier.intact, "\(verifier.summary)")
                try client.send(HTTPText.request("POST", "/upload", headers: [HTTPField("Content-Length", "\(Self.size)")]))
                try client.sendPattern(count: Self.size, chunked: false)
                #expect(try client.readFinalResponse().final.text == "received")
                let seen = try #require(upstream.requests.last)
                #expect(seen.bodyCount == Self.size && seen.bodyMatchesPattern)
                #expect(try Self.spliced(proxy, "response") == 0)
                #expect(try Self.spliced(proxy, "request") == 0)
            }
        }

        @Test func aTLSListenerCopiesAndIsByteExact() throws {
            let dir = try TempDir.make()
            defer { dir.remove() }
            let upstream = try Self.bulkUpstream()
            defer { upstream.stop() }
            let (config, tlsPort, _) = try ProxyConfig.single(primary: upstream).withTLSListener(in: dir)
            try withProxy(config) { proxy in
                let file = dir.url.appendingPathComponent("download").path
                let result = try ChildProcess.run(
                    "/usr/bin/curl", ["-sk", "--http1.1", "--max-time", "20", "-o", file, "https://127.0.0.1:\(tlsPort)/download"],
                    timeout: 30)
                #expect(result.status == 0, "curl: \(result.stderr)")
                let data = try Data(contentsOf: URL(fileURLWithPath: file))
                var verifier = PatternVerifier()
                data.withUnsafeBytes { verifier.consume($0) }
                #expect(verifier.count == Self.size && verifier.intact, "\(verifier.summary)")
                #expect(try Self.spliced(proxy, "response") == 0)
            }
        }
    }
}
