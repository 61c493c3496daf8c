// timeouts.requestBody and limits.minRequestBodyRate: a body that trickles in ends in 408 and frees its upstream connection; time the upstream holds the body back is not the client's.
import Foundation
import Testing

extension Integration {
    @Suite("Slow request bodies")
    struct SlowRequestBody {
        /// The scenario scaled down: with the old idle/response timeouts only, clients sending a
        /// byte every 400 ms held their upstream connections for as long as they liked.
        @Test func tricklingBodiesGet408AndReleaseTheirUpstreams() throws {
            let upstream = try TestUpstream { _ in .text("unreached") }
            defer { upstream.stop() }
            let config = ProxyConfig.single(
                primary: upstream,
                timeouts: [
                    "idle": "3s", "upstreamResponse": "2s", "requestBody": "1s",
                ])
            try withProxy(config) { proxy in
                let clients = try (0..<5).map { _ in try proxy.client(timeout: 3) }
                for client in clients {
                    try client.send(HTTPText.request("POST", "/slow", headers: [HTTPField("Content-Length", "1000")]))
                }
                #expect(Posix.waitUntil(timeout: 3) { upstream.openConnections == 5 }, "the heads did not all reach the upstream")
                let started = Date()
                var answered = Array(repeating: false, count: clients.count)
                // A byte from each client every 400 ms (2.5 B/s, far below 256 B/s) until all are answered.
                while answered.contains(false) && Date().timeIntervalSince(started) < 8 {
                    for (i, client) in clients.enumerated() where !answered[i] {
                        if Posix.waitReadable(client.fd, timeout: 0) { answered[i] = true; continue }
                        do { try client.send("x") } catch { answered[i] = true }
                    }
                    for (i, client) in clients.enumerated() where !answered[i] {
                        if Posix.waitReadable(client.fd, timeout: 0.4 / Double(clients.count)) { answered[i] = true }
                    }
                }
                let elapsed = Date().timeIntervalSince(started)
                #expect(!answered.contains(false), "clients still unanswered after \(elapsed) s: \(answered)")
                for client in clients {
                    let response = try? client.readResponse()
                    #expect(response?.status == 408, "got \(String(describing: response?.status))")
                }
                #expect(
                    upstream.waitForOpenConnections(atMost: 0, timeout: 3),
                    "\(upstream.openConnections) upstream connections still open")
                let metrics = try proxy.admin("/metrics").text
                let aborts = metrics.split(separator: "\n").filter { $0.hasPrefix("canarygate_downstream_aborts_total{") }
                #expect(aborts.contains { $0.hasSuffix(" 5") }, "the 408s are not counted as downstream aborts: \(aborts)")
                let failures = metrics.split(separator: "\n").filter { $0.hasPrefix("canarygate_upstream_failures_total{") }
                #expect(failures.allSatisfy { $0.hasSuffix(" 0") }, "counted against the arm: \(failures)")
            }
        }

        /// A client that sends fast while the upstream does not read: the wait is the upstream's.
        @Test func timeBlockedOnTheUpstreamIsNotTheClients() throws {
            let size = 8 << 20
            let upstream = try TestUpstream { _ in
                .respond(UpstreamResponse(body: .fixed("done".bytes), pauseReading: ReadPause(afterBytes: 1 << 16, seconds: 2.5)))
            }
            defer { upstream.stop() }
            let config = ProxyConfig.single(primary: upstream, timeouts: ["requestBody": "500ms", "upstreamResponse": "10s"])
            try withProxy(config) { proxy in
                let client = try proxy.client(timeout: 10)
                try client.send(HTTPText.request("POST", "/big", headers: [HTTPField("Content-Length", "\(size)")]))
                try client.sendPattern(count: size, chunked: false)
                let response = try client.readResponse()
                #expect(response.status == 200)
                #expect(response.text == "done")
                #expect(upstream.requests.first?.bodyCount == size)
            }
        }

        /// A body that keeps the rate is never cut, however long it takes.
        @Test func aSteadyBodyOverManyWindowsPasses() throws {
            let upstream = try TestUpstream { _ in .respond(UpstreamResponse(body: .echo(.contentLength(0)))) }
            defer { upstream.stop() }
            let config = ProxyConfig.single(
                primary: upstream, timeouts: ["requestBody": "300ms"],
                limits: ["minRequestBodyRate": 100])
            try withProxy(config) { proxy in
                let client = try proxy.client(timeout: 5)
                let pieces = 12
                try client.send(HTTPText.request("POST", "/steady", headers: [HTTPField("Content-Length", "\(pieces * 100)")]))
                for _ in 0..<pieces {
                    try client.send(Array(repeating: UInt8(ascii: "s"), count: 100))
                    Thread.sleep(forTimeInterval: 0.15)  // 100 bytes per 150 ms: ~670 B/s, well above 100 B/s
                }
                let response = try client.readResponse()
                #expect(response.status == 200)
                #expect(response.bodyCount == pieces * 100)
            }
        }
    }
}
