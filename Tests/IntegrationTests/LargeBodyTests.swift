// 50 MiB streamed through the proxy each way, verified byte for byte, with the proxy's RSS bounded.
import Foundation
import Testing

extension Integration {
    @Suite("Large bodies and memory")
    struct LargeBodies {
        static let size = 50 * 1024 * 1024
        /// The proxy may grow by at most this over its post-start baseline, whatever the body size.
        static let rssAllowanceKiB = 64 * 1024
        /// The receiving side stops reading for a while after this many bytes: a proxy that does not
        /// apply back-pressure would swallow the rest of the body meanwhile and show it in its RSS.
        static let pause = ReadPause(afterBytes: 1 << 20, seconds: 1.0)

        enum Direction: String, CaseIterable, Sendable { case upload, download }

        @Test(arguments: [(Direction.upload, false), (.upload, true), (.download, false), (.download, true)])
        func fiftyMegabytesStreamWithBoundedMemory(direction: Direction, chunked: Bool) throws {
            let size = Self.size
            let upstream = try TestUpstream { request in
                if request.path == "/warmup" { return .text("warm") }
                if direction == .upload {
                    return .respond(UpstreamResponse(body: .fixed("received".bytes), pauseReading: Self.pause))
                }
                return .respond(UpstreamResponse(body: .pattern(count: size, chunked: chunked)))
            }
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream), threads: 2) { proxy in
                let client = try proxy.client(timeout: 15)
                #expect(try client.get("/warmup").text == "warm")
                let baseline = try #require(proxy.rssKiB())
                let probe = proxy.memoryProbe()

                let started = Date()
                switch direction {
                case .upload:
                    let framing = chunked ? HTTPField("Transfer-Encoding", "chunked") : HTTPField("Content-Length", "\(size)")
                    try client.send(HTTPText.request("POST", "/upload", headers: [framing]))
                    try client.sendPattern(count: size, chunked: chunked)
                    let response = try client.readFinalResponse().final
                    #expect(response.status == 200)
                    #expect(response.text == "received")
                    let seen = try #require(upstream.requests.last)
                    #expect(seen.complete)
                    #expect(seen.bodyCount == size, "upstream got \(seen.bodyCount) of \(size) bytes")
                    #expect(seen.bodyMatchesPattern, "upload corrupted on the way")
                case .download:
                    try client.send(HTTPText.request("GET", "/download"))
                    var verifier = PatternVerifier()
                    var paused = false
                    let response = try client.readFinalResponse { piece in
                        verifier.consume(piece)
                        if !paused && verifier.count >= Self.pause.afterBytes {
                            paused = true
                            usleep(UInt32(Self.pause.seconds * 1_000_000))
                        }
                    }.final
                    #expect(response.status == 200)
                    #expect(response.framing != .untilClose)
                    #expect(verifier.count == size && verifier.intact, "\(verifier.summary)")
                }
                let elapsed = Date().timeIntervalSince(started)

                let (peak, samples) = probe.finish()
                let after = proxy.rssKiB() ?? 0
                #expect(samples > 10, "RSS sampled only \(samples) times")
                #expect(
                    peak - baseline < Self.rssAllowanceKiB,
                    "proxy RSS peaked at \(peak) KiB, baseline \(baseline) KiB (\(direction), chunked: \(chunked))")
                #expect(after - baseline < Self.rssAllowanceKiB, "proxy RSS after: \(after) KiB, baseline \(baseline) KiB")
                print(
                    "50 MiB \(direction) chunked=\(chunked): \(String(format: "%.2f", elapsed)) s, "
                        + "RSS baseline \(baseline) KiB, peak \(peak) KiB, after \(after) KiB")

                // The connection is still good for another request.
                #expect(try client.get("/warmup").text == "warm")
            }
        }
    }
}
