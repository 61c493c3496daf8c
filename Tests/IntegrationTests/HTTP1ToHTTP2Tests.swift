// HTTP/1.1 clients relayed to HTTP/2 upstreams: fields, lengths and chunking, trailers, large bodies under flow control, keep-alive, failures.
import Foundation
import Testing

/// One route whose primary is the HTTP/2 upstream `primary` (and, optionally, a canary arm of its own).
private func h2PrimaryRoute(
    _ primary: H2UpstreamProcess, canary: ArmSpec? = nil, weight: Int = 0, timeouts: [String: String] = [:]
) -> ProxyConfig {
    var p = ArmSpec("v1", [primary.endpoint])
    p.upstreamProtocol = "h2"
    return ProxyConfig(routes: [RouteSpec("h2", primary: p, canary: canary, weight: weight)], timeouts: timeouts)
}

/// The fields the upstream saw, as "name: value" lines, from its /echo document.
private func echoedFields(_ response: ClientResponse) throws -> (doc: [String: Any], fields: [String]) {
    let doc = try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
    let fields = (doc["fields"] as? [[String]] ?? []).map { $0.joined(separator: ": ") }
    return (doc, fields)
}

extension Integration {
    @Suite("HTTP/1.1 clients to HTTP/2 upstreams")
    struct HTTP1ToHTTP2Tests {
        @Test func aPlainGETReachesTheUpstreamAsHTTP2FieldsAndKeepsItsLength() throws {
            let v1 = try H2UpstreamProcess(name: "v1")
            defer { v1.stop() }
            try withProxy(h2PrimaryRoute(v1)) { proxy in
                let request = HTTPText.request(
                    "GET", "/echo?q=1", host: "app.example",
                    headers: [
                        HTTPField("Connection", "X-Drop"), HTTPField("X-Drop", "1"), HTTPField("Keep-Alive", "timeout=5"),
                        HTTPField("TE", "gzip, trailers"), HTTPField("X-Custom", "Yes"), HTTPField("X-Forwarded-For", "10.0.0.1"),
                    ])
                let response = try proxy.fetch(request)
                #expect(response.status == 200)
                #expect(response.headers["x-upstream"] == "v1")
                #expect(response.framing == .contentLength(response.body.count), "the upstream's content-length is kept")
                #expect(!response.headers.has("transfer-encoding"))
                let (doc, fields) = try echoedFields(response)
                #expect(doc["method"] as? String == "GET")
                #expect(doc["path"] as? String == "/echo?q=1")
                #expect(doc["authority"] as? String == "app.example")
                #expect(fields.contains(":scheme: http"))
                #expect(fields.contains("x-custom: Yes"), "names lower-cased, values kept: \(fields)")
                #expect(fields.contains("te: trailers"), "TE is reduced to trailers")
                #expect(fields.contains("x-forwarded-for: 10.0.0.1, 127.0.0.1"))
                #expect(fields.contains("x-forwarded-proto: http"))
                #expect(fields.contains("x-forwarded-host: app.example"))
                #expect(fields.contains("forwarded: for=127.0.0.1;host=\"app.example\";proto=http"))
                for dropped in ["connection", "x-drop", "keep-alive", "host"] {
                    #expect(!fields.contains { $0.hasPrefix("\(dropped): ") }, "\(dropped) is not sent: \(fields)")
                }
                let metrics = try Integration.Metrics.scrape(proxy) { $0.sum("canarygate_requests_total", ["route": "h2"]) >= 1 }
                #expect(metrics.value("canarygate_requests_total", ["route": "h2", "arm": "primary", "code": "200"]) == 1)
            }
        }

        @Test func anArmWithTLSIsReachedWithSchemeHTTPS() throws {
            let dir = try TempDir.make()
            defer { dir.remove() }
            let cert = try makeTestCertificate("localhost", in: dir)
            let v1 = try H2UpstreamProcess(name: "v1", tls: (cert.certificate, cert.privateKey))
            defer { v1.stop() }
            var arm = ArmSpec("v1", ["127.0.0.1:\(v1.port)"])
            arm.upstreamProtocol = "h2"
            arm.tls = ("localhost", cert.certificate)
            try withProxy(ProxyConfig(routes: [RouteSpec("h2", primary: arm)])) { proxy in
                let response = try proxy.fetch(HTTPText.request("GET", "/echo"))
                #expect(response.status == 200)
                let (_, fields) = try echoedFields(response)
                #expect(fields.contains(":scheme: https"))
                #expect(fields.contains("x-forwarded-proto: http"), "the client's own scheme")
            }
        }

        @Test func aResponseWithoutLengthIsChunkedWithTheUpstreamsTrailers() throws {
            let v1 = try H2UpstreamProcess(name: "v1")
            defer { v1.stop() }
            try withProxy(h2PrimaryRoute(v1)) { proxy in
                // /grpc/ answers with the request body, no content-length, and trailers (the request is
                // not gRPC: its content-type is plain text).
                let response = try proxy.fetch(
                    HTTPText.request("POST", "/grpc/echo", headers: [HTTPField("Content-Type", "text/plain")], text: "hello"))
                #expect(response.status == 200)
                #expect(response.headers.tokens("transfer-encoding") == ["chunked"])
                #expect(response.text == "hello")
                #expect(response.trailers["grpc-status"] == "0", "\(response.trailers)")
                #expect(response.trailers["grpc-message"] == "from v1")

                // An HTTP/1.0 client cannot read chunked: the body ends with the connection, trailers dropped.
                let old = try RawClient(port: proxy.port)
                defer { old.close() }
                try old.send(
                    HTTPText.request(
                        "POST", "/grpc/echo", headers: [HTTPField("Content-Type", "text/plain")], text: "old", version: "HTTP/1.0"))
                let closing = try old.readResponse()
                #expect(closing.status == 200)
                #expect(closing.framing == .untilClose)
                #expect(closing.text == "old")
                #expect(!closing.headers.has("transfer-encoding"))
            }
        }

        @Test(arguments: [false, true])
        func aLargeRequestBodyReachesTheUpstreamIntactUnderItsFlowControl(chunked: Bool) throws {
            let v1 = try H2UpstreamProcess(name: "v1")
            defer { v1.stop() }
            try withProxy(h2PrimaryRoute(v1)) { proxy in
                let size = 1_500_000
                let client = try RawClient(port: proxy.port, timeout: 20)
                defer { client.close() }
                let framing = chunked ? HTTPField("Transfer-Encoding", "chunked") : HTTPField("Content-Length", String(size))
                try client.send(HTTPText.request("POST", "/grpc/upload", headers: [framing]))
                // More than the stream's window (64 KiB until the upstream raises it): the proxy reads
                // the client only as the upstream takes DATA.
                try client.sendPattern(count: size, chunked: chunked, piece: 100_000)
                var verifier = PatternVerifier()
                let response = try client.readResponse { verifier.consume($0) }
                #expect(response.status == 200)
                #expect(verifier.count == size && verifier.intact, "\(verifier.summary)")
                #expect(response.trailers["grpc-status"] == "0")
            }
        }

        @Test func chunkedRequestTrailersBecomeHTTP2Trailers() throws {
            let v1 = try H2UpstreamProcess(name: "v1")
            defer { v1.stop() }
            try withProxy(h2PrimaryRoute(v1)) { proxy in
                let body = HTTPText.chunk(Array("abc".utf8)) + Array("0\r\nX-Checksum: 42\r\nContent-Length: 9\r\n\r\n".utf8)
                let response = try proxy.fetch(
                    HTTPText.request("POST", "/echo", headers: [HTTPField("Transfer-Encoding", "chunked")]) + body)
                #expect(response.status == 200)
                let (doc, _) = try echoedFields(response)
                #expect(doc["bodyLength"] as? Int == 3)
                let trailers = (doc["trailers"] as? [[String]] ?? []).map { $0.joined(separator: ": ") }
                #expect(trailers == ["x-checksum: 42"], "a forbidden trailer field is dropped")
            }
        }

        @Test func oneClientConnectionCarriesSeveralRequestsIncludingHEAD() throws {
            let v1 = try H2UpstreamProcess(name: "v1")
            defer { v1.stop() }
            try withProxy(h2PrimaryRoute(v1)) { proxy in
                let client = try RawClient(port: proxy.port)
                defer { client.close() }
                for i in 0..<3 {
                    let echo = try client.get("/echo/\(i)")
                    #expect(echo.status == 200)
                    #expect(try echoedFields(echo).doc["path"] as? String == "/echo/\(i)")
                    try client.send(HTTPText.request("HEAD", "/big/1000"))
                    let head = try client.readFinalResponse(method: "HEAD").final
                    #expect(head.status == 200)
                    #expect(head.headers["content-length"] == "1000", "HEAD keeps the length of the GET")
                    #expect(head.body.isEmpty)
                    let chunked = try client.exchange(HTTPText.request("POST", "/grpc/k", text: "body \(i)"))
                    #expect(chunked.text == "body \(i)")
                    let big = try client.get("/big/200000")
                    #expect(big.body.count == 200_000)
                    #expect(big.body.allSatisfy { $0 == UInt8(ascii: "b") })
                }
                #expect(client.waitForPeer(timeout: 0.2) == .open, "keep-alive holds")
            }
        }

        @Test func expectContinueIsAnsweredAndTheBodyFollows() throws {
            let v1 = try H2UpstreamProcess(name: "v1")
            defer { v1.stop() }
            try withProxy(h2PrimaryRoute(v1)) { proxy in
                let client = try RawClient(port: proxy.port)
                defer { client.close() }
                try client.send(
                    HTTPText.request(
                        "POST", "/echo", headers: [HTTPField("Content-Length", "4"), HTTPField("Expect", "100-continue")]))
                let interim = try client.readResponse()
                #expect(interim.status == 100)
                try client.send("data")
                let final = try client.readFinalResponse().final
                #expect(final.status == 200)
                let (doc, fields) = try echoedFields(final)
                #expect(doc["bodyLength"] as? Int == 4)
                #expect(!fields.contains { $0.hasPrefix("expect: ") })
            }
        }

        @Test func aMixedRouteSpeaksEachArmsProtocol() throws {
            let v1 = try H2UpstreamProcess(name: "v1")
            defer { v1.stop() }
            let h1 = try TestUpstream(name: "h1", text: "from h1")
            defer { h1.stop() }
            try withProxy(h2PrimaryRoute(v1, canary: ArmSpec("v2", h1), weight: 50), threads: 1) { proxy in
                let client = try RawClient(port: proxy.port)
                defer { client.close() }
                var seen: Set<String> = []
                for _ in 0..<60 where seen.count < 2 {
                    let r = try client.get("/echo")
                    #expect(r.status == 200)
                    seen.insert(r.headers["x-upstream"] ?? (r.text == "from h1" ? "h1" : "?"))
                }
                #expect(seen == ["v1", "h1"], "both arms answered on one client connection")
            }
        }

        @Test func aClientThatGoesAwayCancelsItsStreamAndIsNotTheArmsFailure() throws {
            let v1 = try H2UpstreamProcess(name: "v1")
            defer { v1.stop() }
            try withProxy(h2PrimaryRoute(v1)) { proxy in
                let gone = try RawClient(port: proxy.port)
                try gone.send(HTTPText.request("GET", "/slow"))
                // Gone while the upstream still works on the stream (it answers after one second).
                gone.resetClose()
                let labels = ["route": "h2", "arm": "primary"]
                let metrics = try Integration.Metrics.scrape(proxy) { ($0.value("canarygate_downstream_aborts_total", labels) ?? 0) >= 1 }
                #expect(metrics.value("canarygate_downstream_aborts_total", labels) == 1)
                #expect(metrics.sum("canarygate_upstream_failures_total", ["route": "h2"]) == 0)
                // The upstream connection carries the next client's request.
                #expect(try proxy.fetch(HTTPText.request("GET", "/echo")).status == 200)
            }
        }

        @Test func aClientThatStopsSendingItsBodyGets408NotAnUpstreamTimeout() throws {
            let v1 = try H2UpstreamProcess(name: "v1")
            defer { v1.stop() }
            // The upstream waits for the rest of the body: its silence is the client's doing.
            try withProxy(h2PrimaryRoute(v1, timeouts: ["upstreamResponse": "300ms", "requestBody": "1s"])) { proxy in
                let client = try RawClient(port: proxy.port, timeout: 5)
                defer { client.close() }
                try client.send(HTTPText.request("POST", "/echo", headers: [HTTPField("Content-Length", "100")]) + Array("0123456789".utf8))
                let answer = Result { try client.readResponse() }
                #expect((try? answer.get())?.status == 408, "\(answer)")
                let labels = ["route": "h2", "arm": "primary"]
                let metrics = try Integration.Metrics.scrape(proxy) { ($0.value("canarygate_downstream_aborts_total", labels) ?? 0) >= 1 }
                #expect(metrics.sum("canarygate_upstream_failures_total", labels) == 0)
                #expect(metrics.sum("canarygate_requests_total", labels) == 0)
            }
        }

        @Test func aSilentUpstreamIs504AfterTheResponseTimeout() throws {
            let v1 = try H2UpstreamProcess(name: "v1")
            defer { v1.stop() }
            try withProxy(h2PrimaryRoute(v1, timeouts: ["upstreamResponse": "300ms"])) { proxy in
                // /slow answers after one second.
                let response = try proxy.fetch(HTTPText.request("GET", "/slow"))
                #expect(response.status == 504)
                #expect(response.text.contains("upstream response timeout"))
                let metrics = try Integration.Metrics.scrape(proxy) { $0.sum("canarygate_requests_total", ["route": "h2"]) >= 1 }
                #expect(metrics.value("canarygate_requests_total", ["route": "h2", "arm": "primary", "code": "504"]) == 1)
            }
        }

        @Test func aStreamResetBeforeTheResponseIs502WithItsReason() throws {
            let v1 = try H2UpstreamProcess(name: "v1")
            defer { v1.stop() }
            try withProxy(h2PrimaryRoute(v1)) { proxy in
                let response = try proxy.fetch(HTTPText.request("GET", "/reset-before-head"))
                #expect(response.status == 502)
                #expect(response.text.contains("reset the stream"))
                let metrics = try Integration.Metrics.scrape(proxy) { $0.sum("canarygate_requests_total", ["route": "h2"]) >= 1 }
                #expect(metrics.value("canarygate_requests_total", ["route": "h2", "arm": "primary", "code": "502"]) == 1)
                // Reset right after its head: never a complete 200 (a 502 while the head was only
                // queued, else the connection cut), and a 502 of the arm either way.
                let cut = try RawClient(port: proxy.port)
                defer { cut.close() }
                try cut.send(HTTPText.request("GET", "/reset"))
                if let afterHead = try? cut.readResponse() { #expect(afterHead.status == 502) }
                let counted = try Integration.Metrics.scrape(proxy) {
                    ($0.value("canarygate_requests_total", ["route": "h2", "arm": "primary", "code": "502"]) ?? 0) >= 2
                }
                #expect(
                    counted.value("canarygate_upstream_failures_total", ["route": "h2", "arm": "primary", "source": "upstream_reset"])
                        == 2)
                // A refused stream is sent again once and answered.
                let refused = try proxy.fetch(HTTPText.request("GET", "/refuse-once/x"))
                #expect(refused.status == 200)
                #expect(refused.headers["x-attempts"] == "2")
            }
        }
    }
}
