// A client that goes away while its request waits for the upstream: one downstream abort of the arm, seen at once; the upstream connection closed; no 504.
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension Integration {
    @Suite("Client aborts")
    struct ClientAborts {
        static let aborts = "canarygate_downstream_aborts_total"
        static let inFlight = "canarygate_requests_in_flight"
        static let web = ["route": "web", "arm": "primary"]
        /// Far beyond every bound below: a 504 (the old outcome of a client that gave up) cannot come
        /// while a test runs, and an abort must be seen long before it.
        static let timeouts = ["upstreamResponse": "20s", "idle": "20s"]

        /// How the client leaves while the upstream holds its request unanswered.
        enum Leave: String, CaseIterable, CustomTestStringConvertible, Sendable {
            /// close(): a FIN.
            case close
            /// SO_LINGER 0 then close(): a RST.
            case reset
            /// shutdown(SHUT_WR) after the proxy read the request: the FIN alone, which cannot be told from a close.
            case halfCloseLate
            /// A POST whose whole body was relayed, then close().
            case closeAfterBody

            var testDescription: String { rawValue }
        }

        @Test(arguments: Leave.allCases)
        func aClientThatLeavesWhileTheUpstreamIsSilentIsOneAbortAtOnce(_ leave: Leave) throws {
            let upstream = try TestUpstream { _ in .hang(seconds: 10) }
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream, timeouts: Self.timeouts), threads: 1) { proxy in
                let client = try proxy.client(timeout: 3)
                if leave == .closeAfterBody {
                    try client.send(HTTPText.request("POST", "/hang", text: String(repeating: "b", count: 3000)))
                } else {
                    try client.send(HTTPText.request("GET", "/hang"))
                }
                // The whole request reached the upstream: the proxy is waiting for a response head.
                try #require(upstream.waitForRequests(1, timeout: 3), "the request never reached the upstream")
                try #require(upstream.requests.first?.complete == true)

                let left = Date()
                switch leave {
                case .close, .closeAfterBody: client.close()
                case .reset: client.resetClose()
                case .halfCloseLate: shutdown(client.fd, Int32(SHUT_WR))
                }
                let metrics = try Metrics.scrape(proxy, timeout: 2) { ($0.value(Self.aborts, Self.web) ?? 0) >= 1 }
                let seenAfter = Date().timeIntervalSince(left)
                #expect(
                    metrics.value(Self.aborts, Self.web) == 1,
                    "downstream aborts \(metrics.value(Self.aborts, Self.web).map { "\($0)" } ?? "missing") \(seenAfter) s after the client left"
                )
                #expect(seenAfter < 1, "the abort was seen \(seenAfter) s after the client left")
                // No response of any status (no 504), and nothing counted against the arm.
                #expect(metrics.sum(Metrics.requests, Self.web) == 0, "\(metrics.samples(Metrics.requests))")
                #expect(metrics.sum(Metrics.failures, Self.web) == 0, "\(metrics.samples(Metrics.failures))")
                #expect(metrics.value(Self.inFlight, Self.web) == 0)

                // The upstream connection was closed with the client's, not kept for a response that may still come.
                #expect(upstream.waitForOpenConnections(atMost: 0, timeout: 1), "the proxy kept its upstream connection open")
                #expect(upstream.hangsEndedByPeer == 1)
                if leave == .halfCloseLate {
                    // The client's side still reads: it sees the proxy close, and no response.
                    #expect(client.waitForPeer(timeout: 1) == .closed)
                }
                // Counted once: a later scrape still says 1.
                #expect(try Metrics.scrape(proxy).value(Self.aborts, Self.web) == 1)
            }
        }

        /// A client that half-closes together with its request (the FIN on the request's own segment:
        /// `printf … | nc -N`) still wants the answer: it is served, then the connection closes.
        @Test func aClientThatHalfClosesWithItsRequestIsServed() throws {
            let upstream = try TestUpstream(text: "served")
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream, timeouts: Self.timeouts), threads: 1) { proxy in
                let client = try proxy.client(timeout: 3)
                // Corked, the request stays in the send queue and shutdown() tacks the FIN onto it: the
                // proxy reads request and FIN together, whatever the scheduling.
                var one: Int32 = 1
                setsockopt(client.fd, Int32(IPPROTO_TCP), TCP_CORK, &one, socklen_t(MemoryLayout<Int32>.size))
                try client.send(HTTPText.request("GET", "/"))
                shutdown(client.fd, Int32(SHUT_WR))
                let response = try client.readResponse()
                #expect(response.status == 200)
                #expect(response.text == "served")
                #expect(client.waitForPeer(timeout: 2) == .closed)
                let metrics = try Metrics.scrape(proxy) { ($0.value(Metrics.requests, Self.web.merging(["code": "200"]) { $1 }) ?? 0) >= 1 }
                #expect(metrics.value(Metrics.requests, Self.web.merging(["code": "200"]) { $1 }) == 1)
                #expect(metrics.value(Self.aborts, Self.web) == 0)
            }
        }

        /// Bytes of the next request, readable while the first waits, are not a close: both are answered.
        @Test func aPipelinedRequestSentWhileTheFirstWaitsIsNotAnAbort() throws {
            let arrived = DispatchSemaphore(value: 0)
            let release = DispatchSemaphore(value: 0)
            let upstream = try TestUpstream { request in
                guard request.path == "/first" else { return .text("second") }
                arrived.signal()
                _ = release.wait(timeout: .now() + 5)
                return .text("first")
            }
            defer { release.signal(); upstream.stop() }
            try withProxy(.single(primary: upstream, timeouts: Self.timeouts), threads: 1) { proxy in
                let client = try proxy.client(timeout: 5)
                try client.send(HTTPText.request("GET", "/first"))
                try #require(arrived.wait(timeout: .now() + 3) == .success, "the first request never reached the upstream")
                try client.send(HTTPText.request("GET", "/second"))
                // The second request is readable at the proxy while the first is unanswered: no answer, no close.
                #expect(client.waitForPeer(timeout: 0.2) == .open)
                release.signal()
                let first = try client.readResponse()
                let second = try client.readResponse()
                #expect(first.status == 200 && first.text == "first", "\(first.status) \(first.text)")
                #expect(second.status == 200 && second.text == "second", "\(second.status) \(second.text)")
                let ok = Self.web.merging(["code": "200"]) { $1 }
                let metrics = try Metrics.scrape(proxy) { ($0.value(Metrics.requests, ok) ?? 0) >= 2 }
                #expect(metrics.value(Metrics.requests, ok) == 2)
                #expect(metrics.value(Self.aborts, Self.web) == 0)
            }
        }

        /// HTTP/2: a client's RST_STREAM (or its connection closing) while the stream waits for its
        /// upstream is one abort of that stream's arm, the upstream connection closed; the connection's
        /// other streams carry on.
        @Test(arguments: [false, true])
        func anHTTP2StreamAbandonedWhileItsUpstreamIsSilentIsOneAbort(closeConnection: Bool) throws {
            let upstream = try TestUpstream { request in request.path == "/hang" ? .hang(seconds: 10) : .text("after") }
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream, timeouts: Self.timeouts), threads: 1) { proxy in
                let client = try H2Client(
                    "abandon", port: proxy.port,
                    ["--path", "/hang", "--after-path", "/after", "--timeout", "15"] + (closeConnection ? ["--close"] : []),
                    timeout: 20)
                try #require(upstream.waitForRequests(1, timeout: 5), "the stream's request never reached the upstream")
                client.signal(SIGUSR1)
                let run = client.finish()
                #expect(run.ok, "\(run)")
                if !closeConnection {
                    #expect(run.stream("after")?.succeeded() == true, "\(run)")
                }
                let metrics = try Metrics.scrape(proxy, timeout: 2) { ($0.value(Self.aborts, Self.web) ?? 0) >= 1 }
                #expect(metrics.value(Self.aborts, Self.web) == 1, "\(metrics.samples(Self.aborts))")
                #expect(metrics.sum(Metrics.requests, Self.web) == (closeConnection ? 0 : 1), "\(metrics.samples(Metrics.requests))")
                #expect(metrics.sum(Metrics.failures, Self.web) == 0, "\(metrics.samples(Metrics.failures))")
                #expect(
                    Posix.waitUntil(timeout: 1) { upstream.hangsEndedByPeer == 1 },
                    "the proxy kept the abandoned stream's upstream connection open")
            }
        }
    }
}
