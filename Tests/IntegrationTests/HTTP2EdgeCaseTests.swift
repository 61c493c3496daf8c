// HTTP/2 edge cases driven by Support/h2client.py: stream reset isolation, flow control both ways, the
// concurrency limit, oversized headers, a dead upstream on one stream, GOAWAY on drain.
//
// Every scenario runs against canarygate and against HAProxy 2.6 configured the same way: the HAProxy
// runs prove the client and the expectations, so a failure of only the canarygate run is canarygate's.
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension Integration {
    @Suite("HTTP/2 edge cases")
    struct HTTP2EdgeCases {
        static let mib = 1 << 20

        @Test(arguments: H2Server.allCases)
        func settingsAdvertiseHundredStreamsAndA64KiBWindow(server: H2Server) throws {
            let upstream = try H2Upstream.make()
            defer { upstream.stop() }
            try withH2Front(server, upstream: upstream) { front in
                for tls in [false, true] {
                    let run = try H2Client.run("request", port: front.port(tls: tls), tls: tls, ["--path", "/settings"])
                    try #require(run.ok, "\(run)")
                    let settings = run.serverSettings
                    #expect(settings["MAX_CONCURRENT_STREAMS"] == 100, "tls \(tls): SETTINGS \(settings)")
                    // "64 KiB or more": the protocol default 65,535 (absent from SETTINGS) is taken as 64 KiB.
                    #expect((settings["INITIAL_WINDOW_SIZE"] ?? 65_535) >= 65_535, "tls \(tls): SETTINGS \(settings)")
                    #expect(run.stream("/settings")?.succeeded() == true, "\(run)")
                    if tls { #expect(run.json["alpn"] as? String == "h2") }
                }
            }
        }

        /// Stream A (4 MiB) is reset by the client after its first DATA frame, its window never reopened;
        /// B (4 MiB) and C, opened with it, and D and E, opened after the reset, complete intact.
        @Test(arguments: H2Server.allCases)
        func clientResetOfOneStreamMidResponseLeavesTheOthersAlone(server: H2Server) throws {
            let upstream = try H2Upstream.make()
            defer { upstream.stop() }
            let size = 4 * Self.mib
            try withH2Front(server, upstream: upstream) { front in
                for tls in [false, true] {
                    let run = try H2Client.run(
                        "rst-isolation", port: front.port(tls: tls), tls: tls,
                        ["--big-path", "/big?bytes=\(size)", "--path", "/small"])
                    try #require(run.ok, "tls \(tls): \(run)")
                    let a = try #require(run.stream("A"))
                    #expect(a.resetByClient == "CANCEL" && !a.ended, "\(a)")
                    let aBytes = run.int("aBytesBeforeReset") ?? 0
                    #expect(aBytes > 0 && aBytes < size, "A had \(aBytes) bytes when reset")
                    for label in ["B", "E"] {
                        let big = try #require(run.stream(label))
                        #expect(
                            big.succeeded() && big.bodyBytes == size && big.patternIntact,
                            "tls \(tls): \(big) after resetting A")
                    }
                    for label in ["C", "D", "F"] {
                        let small = try #require(run.stream(label))
                        #expect(small.succeeded() && small.body == "ok GET /small", "tls \(tls): \(small)")
                    }
                    #expect(run.goaways.isEmpty && !run.peerClosed, "tls \(tls): \(run)")
                }
            }
        }

        /// Two 3 MiB downloads at once through a 16 KiB stream window (and the default 65,535-byte
        /// connection window), handed back 4 KiB at a time: Content-Length on h2c, chunked over TLS.
        @Test(arguments: H2Server.allCases)
        func smallClientWindowReceivesMultiMiBBodiesIntact(server: H2Server) throws {
            let upstream = try H2Upstream.make()
            defer { upstream.stop() }
            let size = 3 * Self.mib
            try withH2Front(server, upstream: upstream) { front in
                for tls in [false, true] {
                    let path = "/big?bytes=\(size)" + (tls ? "&chunked=1" : "")
                    let run = try H2Client.run(
                        "flow-download", port: front.port(tls: tls), tls: tls,
                        ["--path", path, "--window", "16384", "--step", "4096", "--streams", "2"])
                    try #require(run.ok, "tls \(tls): \(run)")
                    #expect(run.streams.count == 2)
                    for stream in run.streams {
                        #expect(stream.succeeded() && stream.bodyBytes == size && stream.patternIntact, "tls \(tls): \(stream)")
                    }
                    #expect((run.int("windowUpdates") ?? 0) >= 2 * size / 4096, "window updates: \(run.int("windowUpdates") ?? -1)")
                }
            }
        }

        /// A 4 MiB upload, far past the server's window, without content-length on h2c and with one over
        /// TLS: the client has to wait for WINDOW_UPDATEs, and the upstream gets every byte in order.
        @Test(arguments: H2Server.allCases)
        func uploadLargerThanTheWindowArrivesIntactUpstream(server: H2Server) throws {
            let upstream = try H2Upstream.make()
            defer { upstream.stop() }
            let size = 4 * Self.mib
            try withH2Front(server, upstream: upstream) { front in
                for tls in [false, true] {
                    let before = upstream.requestCount
                    let run = try H2Client.run(
                        "flow-upload", port: front.port(tls: tls), tls: tls,
                        ["--path", "/upload", "--bytes", String(size)] + (tls ? ["--content-length"] : []))
                    try #require(run.ok, "tls \(tls): \(run)")
                    let response = try #require(run.stream("upload"))
                    #expect(response.succeeded() && response.body == "received", "\(response)")
                    // The premise: the upload outgrew the server's windows (else raise `size`).
                    #expect(
                        (run.int("windowWaits") ?? 0) > 0,
                        "the upload never waited for a WINDOW_UPDATE: the server's windows exceed \(size) bytes, so flow control went untested"
                    )
                    #expect(upstream.waitForRequests(before + 1))
                    let seen = try #require(upstream.requests.last)
                    #expect(seen.method == "POST" && seen.path == "/upload")
                    #expect(
                        seen.complete && seen.bodyCount == size && seen.bodyMatchesPattern,
                        "tls \(tls): upstream got \(seen.bodyCount) bytes, complete \(seen.complete), intact \(seen.bodyMatchesPattern), framing \(seen.framing)"
                    )
                    #expect(seen.framing == .chunked || seen.framing == .contentLength(size), "framing \(seen.framing)")
                    if tls { #expect(seen.headers["content-length"] == String(size), "\(seen.headers)") }
                }
            }
        }

        /// 100 POST streams are held open (bodies unfinished), then one more is opened: it is refused
        /// with RST_STREAM REFUSED_STREAM and never reaches the upstream; the 100 then complete, and a
        /// new stream on the same connection is served.
        @Test(arguments: H2Server.allCases)
        func streamBeyondMaxConcurrentStreamsIsRefusedAndTheOthersServed(server: H2Server) throws {
            let upstream = try H2Upstream.make()
            defer { upstream.stop() }
            try withH2Front(server, upstream: upstream) { front in
                let run = try H2Client.run(
                    "concurrency", port: front.h2cPort,
                    ["--hold-path", "/hold", "--extra-path", "/extra", "--path", "/after"])
                try #require(run.ok, "\(run)")
                #expect(run.int("advertisedMaxConcurrentStreams") == 100)
                let extra = try #require(run.object("extra"))
                #expect(
                    extra.resetByServer == "REFUSED_STREAM" && extra.status == nil,
                    "the stream beyond the limit: \(extra)")
                let held = (run.json["heldStatuses"] as? [String: Any])?.compactMapValues { ($0 as? NSNumber)?.intValue }
                #expect(held == ["200": 100], "the held streams' outcomes: \(held ?? [:])")
                let early = run.json["heldFinishedEarly"] as? [Any]
                #expect(early?.isEmpty == true, "held streams finished before their bodies ended: \(early ?? [])")
                #expect(run.object("after")?.succeeded() == true, "\(run)")
                #expect(run.goaways.isEmpty, "\(run.goaways)")
                #expect(upstream.waitForRequests(101))
                let paths = upstream.requests.map(\.path)
                #expect(!paths.contains("/extra"), "the refused stream reached the upstream")
                #expect(paths.filter { $0 == "/hold" }.count == 100 && paths.contains("/after"))
            }
        }

        /// 16 KiB of header fields on one stream (the limit is 8 KiB): that stream gets 431 or a
        /// RST_STREAM, never the upstream; the stream sent right after it and a later one are served.
        @Test(arguments: H2Server.allCases)
        func oversizedHeaderListIs431OrResetAndTheConnectionLives(server: H2Server) throws {
            let upstream = try H2Upstream.make()
            defer { upstream.stop() }
            try withH2Front(server, upstream: upstream) { front in
                let run = try H2Client.run("large-headers", port: front.h2cPort, ["--path", "/hdr", "--bytes", "16384"])
                try #require(run.ok, "\(run)")
                let big = try #require(run.stream("big"))
                #expect(big.status == 431 || big.resetByServer != nil, "oversized header list: \(big)")
                #expect(run.stream("small")?.succeeded() == true, "\(run)")
                #expect(run.stream("after")?.succeeded() == true, "\(run)")
                #expect(run.goaways.isEmpty, "\(run.goaways)")
                #expect(upstream.requests.allSatisfy { !$0.headers.has("x-big-0") }, "the oversized request reached the upstream")
                #expect(upstream.requestCount == 2)
            }
        }

        /// A stream to a closed upstream port gets the proxy's error response; the stream beside it
        /// and one opened afterwards are served.
        @Test(arguments: H2Server.allCases)
        func deadUpstreamFailsOnlyItsOwnStream(server: H2Server) throws {
            let upstream = try H2Upstream.make()
            defer { upstream.stop() }
            try withH2Front(server, upstream: upstream) { front in
                let run = try H2Client.run("upstream-failure", port: front.h2cPort, ["--fail-path", "/broken/x", "--path", "/fine"])
                try #require(run.ok, "\(run)")
                let failing = try #require(run.stream("failing"))
                #expect(failing.succeeded(front.deadUpstreamStatus), "\(failing)")
                #expect(failing.bodyBytes > 0, "no body naming the failure: \(failing)")
                if server == .canarygate {
                    #expect(failing.headers["content-type"]?.lowercased().hasPrefix("text/plain") == true, "\(failing.headers)")
                    #expect(failing.bodyBytes < 1024, "\(failing)")
                }
                #expect(run.stream("healthy")?.succeeded() == true && run.stream("healthy")?.body == "ok GET /fine", "\(run)")
                #expect(run.stream("after")?.succeeded() == true, "\(run)")
                #expect(run.goaways.isEmpty, "\(run.goaways)")
            }
        }

        /// A drain while a 1-second request is in flight: GOAWAY (NO_ERROR) covering it, the response
        /// completes, the server closes the connection, and canarygate exits 0.
        @Test(arguments: H2Server.allCases)
        func drainSendsGoawayFinishesTheInFlightStreamAndCloses(server: H2Server) throws {
            let upstream = try H2Upstream.make()
            defer { upstream.stop() }
            try withH2Front(server, upstream: upstream) { front in
                let client = try H2Client("drain", port: front.h2cPort, ["--path", "/slow", "--close-timeout", "5"])
                guard upstream.waitForRequests(1, timeout: 5) else {
                    Issue.record("the slow request never reached the upstream: \(client.finish())")
                    return
                }
                let signalled = Date()
                front.beginDrain()
                let run = client.finish()
                try #require(run.ok, "\(run)")
                #expect(!run.goaways.isEmpty, "no GOAWAY: \(run)")
                #expect(run.goaways.allSatisfy { $0.error == "NO_ERROR" }, "\(run.goaways)")
                #expect(run.goaways.allSatisfy { $0.lastStreamID >= 1 }, "a GOAWAY excludes the in-flight stream 1: \(run.goaways)")
                let inflight = try #require(run.stream("inflight"))
                #expect(inflight.succeeded() && inflight.body == "slow done", "\(inflight)")
                #expect(run.peerClosed, "the server kept the connection open 5 s after the stream: \(run)")
                if server == .canarygate {
                    if let done = run.double("streamDoneAt"), let closed = run.double("closedAt") {
                        #expect(closed - done < 2, "closed \(closed - done) s after the last stream ended")
                    }
                    let status = front.waitForExit(timeout: 5)
                    #expect(
                        status == 0, "exit status \(status.map(String.init) ?? "still running 5 s later"); log:\n\(front.log.suffix(2048))")
                    #expect(Date().timeIntervalSince(signalled) < 5)
                }
                #expect(upstream.requestCount == 1)
            }
        }
    }
}
