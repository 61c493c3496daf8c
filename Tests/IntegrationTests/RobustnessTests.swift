// Concurrent clients, clients that vanish mid-transfer, and the memory cost of idle keep-alive connections.
import Foundation
import Testing

extension Integration {
    @Suite("Robustness")
    struct Robustness {
        /// Runs `body(i)` on `count` threads at once (not the cooperative pool, which has one thread
        /// per core); returns the errors thrown.
        static func concurrently(_ count: Int, _ body: @escaping @Sendable (Int) throws -> Void) -> [String] {
            let lock = NSLock()
            nonisolated(unsafe) var errors: [String] = []
            let group = DispatchGroup()
            for i in 0..<count {
                group.enter()
                Thread {
                    do { try body(i) } catch { lock.withLock { errors.append("client \(i): \(error)") } }
                    group.leave()
                }.start()
            }
            if group.wait(timeout: .now() + 60) == .timedOut { return ["clients still running after 60 s"] }
            return lock.withLock { errors }
        }

        @Test func concurrentClientsEachGetTheirOwnResponses() throws {
            let upstream = try TestUpstream { request in
                .respond(
                    UpstreamResponse(
                        body: request.path.hasSuffix("/chunked")
                            ? .chunked([request.target.bytes, "|".bytes, request.bodyText.bytes])
                            : .echo(.contentLength(0))))
            }
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream), threads: 2) { proxy in
                let port = proxy.port
                let errors = Self.concurrently(32) { c in
                    let client = try RawClient(port: port)
                    for r in 0..<25 {
                        let tag = "c\(c)-r\(r)"
                        if r % 2 == 0 {
                            let response = try client.exchange(HTTPText.request("POST", "/\(tag)", text: tag))
                            guard response.status == 200, response.text == tag else {
                                throw WireError.malformed("\(tag): got \(response.status) \(response.text.prefix(80))")
                            }
                        } else {
                            let response = try client.get("/\(tag)/chunked")
                            guard response.status == 200, response.text == "/\(tag)/chunked|" else {
                                throw WireError.malformed("\(tag): got \(response.status) \(response.text.prefix(80))")
                            }
                        }
                    }
                }
                #expect(errors.isEmpty, "\(errors.count) clients failed: \(errors.prefix(5))")
                #expect(upstream.requestCount == 32 * 25)
            }
        }

        @Test func clientVanishingMidDownloadLeavesTheProxyHealthy() throws {
            let upstream = try TestUpstream { request in
                request.path == "/big"
                    ? .respond(UpstreamResponse(body: .pattern(count: 50 << 20, chunked: false)))
                    : .text("small \(request.target)")
            }
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream), threads: 1) { proxy in
                for round in 0..<3 {
                    let client = try proxy.client()
                    try client.send(HTTPText.request("GET", "/big"))
                    var received = 0
                    struct HangUp: Error {}
                    #expect(throws: HangUp.self) {
                        try client.readResponse { piece in
                            received += piece.count
                            if received > 1 << 20 { throw HangUp() }
                        }
                    }
                    if round == 0 { client.close() } else { client.resetClose() }
                    #expect(received > 1 << 20, "round \(round): only \(received) bytes before hanging up")
                    // The upstream connection that was mid-body must not be reused as if clean.
                    let next = try proxy.fetch(HTTPText.request("GET", "/after\(round)"))
                    #expect(
                        next.status == 200 && next.text == "small /after\(round)", "round \(round): \(next.status) \(next.text.prefix(80))")
                }
                #expect(proxy.isRunning)
            }
        }

        @Test func clientVanishingMidUploadLeavesTheProxyHealthy() throws {
            let upstream = try TestUpstream { request in .text("got \(request.target)") }
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream), threads: 1) { proxy in
                for round in 0..<3 {
                    let client = try proxy.client()
                    let chunked = round == 1
                    try client.send(
                        HTTPText.request(
                            "POST", "/upload\(round)",
                            headers: [
                                chunked ? HTTPField("Transfer-Encoding", "chunked") : HTTPField("Content-Length", "\(10 << 20)")
                            ]))
                    // 1 MiB of the body, never its end (for chunked: whole chunks, no last chunk).
                    if chunked {
                        try client.send(HTTPText.chunk(BodyPattern.bytes(count: 1 << 20)))
                    } else {
                        try client.sendPattern(count: 1 << 20, chunked: false)
                    }
                    if round == 2 { client.resetClose() } else { client.close() }
                    let next = try proxy.fetch(HTTPText.request("GET", "/after\(round)"))
                    #expect(
                        next.status == 200 && next.text == "got /after\(round)", "round \(round): \(next.status) \(next.text.prefix(80))")
                }
                // Whatever reached the upstream of the aborted uploads is marked incomplete there.
                #expect(upstream.requests.filter { $0.path.hasPrefix("/upload") }.allSatisfy { !$0.complete })
            }
        }

        /// The bar is ~1.1 KiB of RSS per idle keep-alive client (HAProxy's cost); 4 KiB leaves
        /// room for a debug build and catches a per-connection buffer that is not returned to the pool.
        @Test func idleKeepAliveConnectionsCostLittleMemory() throws {
            let upstream = try TestUpstream(text: "ok")
            defer { upstream.stop() }
            let count = 1000
            try withProxy(.single(primary: upstream), threads: 2) { proxy in
                for _ in 0..<50 { _ = try proxy.fetch(HTTPText.request()) }  // pools and lazy state warmed
                usleep(200_000)
                let baseline = try #require(proxy.rssKiB())
                var clients: [RawClient] = []
                for i in 0..<count {
                    let client = try proxy.client()
                    let response = try client.get("/idle\(i)")
                    try #require(response.status == 200)
                    clients.append(client)
                }
                usleep(300_000)
                let loaded = try #require(proxy.rssKiB())
                let perConnection = Double(loaded - baseline) / Double(count)
                print(
                    "idle keep-alive connections: \(count), RSS \(baseline) → \(loaded) KiB, "
                        + String(format: "%.2f KiB each", perConnection))
                #expect(perConnection < 4, "each idle keep-alive connection costs \(perConnection) KiB of RSS")
                #expect(clients.allSatisfy { $0.waitForPeer(timeout: 0) == .open })
                clients.forEach { $0.close() }
            }
        }
    }
}
