// After a burst, the loop gives back what the burst left cached: the buffer pool's buffers (canarygate_buffer_pool_bytes) and the splice pipes' descriptors.
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension Integration {
    @Suite("Memory trim")
    struct MemoryTrimTests {
        private static func poolBytes(_ proxy: ProxyProcess) -> Double? {
            guard let metrics = try? proxy.admin("/metrics").text else { return nil }
            return DescriptorExhaustionTests.sample(metrics, "canarygate_buffer_pool_bytes")
        }

        /// Polls until `condition` holds for the pool's bytes, for at most `seconds`; the last value read.
        private static func waitForPool(_ proxy: ProxyProcess, seconds: Double, _ condition: (Double) -> Bool) -> Double? {
            let deadline = Date().addingTimeInterval(seconds)
            var last: Double?
            repeat {
                last = poolBytes(proxy)
                if let last, condition(last) { return last }
                usleep(50_000)
            } while Date() < deadline
            return last
        }

        /// 32 clients wait at once on an upstream that answers after 1 s: each holds buffers, so the pool
        /// owns at least 32 of 16 KiB. Once they are answered and idle, within a few of the pool's
        /// one-second periods it frees what no request needed since, down to (almost) nothing.
        @Test func buffersABurstLeftAreFreedOnceIdle() throws {
            let upstream = try TestUpstream { _ in
                var late = UpstreamResponse.text("late\n")
                late.delay = 1
                return .respond(late)
            }
            defer { upstream.stop() }
            try withProxy(ProxyConfig.single(primary: upstream), threads: 1) { proxy in
                let buffer = 16.0 * 1024
                let clients = try (0..<32).map { _ in try RawClient(port: proxy.port) }
                defer { for c in clients { c.close() } }
                for c in clients { try c.send(HTTPText.request("GET", "/")) }
                let during = Self.waitForPool(proxy, seconds: 10) { $0 >= 32 * buffer }
                #expect((during ?? 0) >= 32 * buffer, "the waiting requests hold buffers: \(String(describing: during))")
                for c in clients { #expect(try c.readResponse().status == 200) }
                // The idle clients stay connected: a keep-alive connection holds no buffer while idle.
                let after = Self.waitForPool(proxy, seconds: 10) { $0 <= 4 * buffer }
                #expect((after ?? .infinity) <= 4 * buffer, "the burst's buffers are freed: \(String(describing: after))")
            }
        }

        /// The proxy's open pipe descriptors (two per splice pipe), from /proc.
        private static func pipeDescriptors(_ proxy: ProxyProcess) -> Int {
            let dir = "/proc/\(proxy.pid)/fd"
            let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
            return names.filter { ((try? FileManager.default.destinationOfSymbolicLink(atPath: "\(dir)/\($0)")) ?? "").hasPrefix("pipe:") }
                .count
        }

        /// 16 downloads of 1 MiB at once: their splices take pipes, which go back to the loop's pool
        /// when the bodies are through. With the clients idle, within a few one-second periods the pool
        /// closes those no splice took since.
        @Test func splicePipesABurstLeftAreClosedOnceIdle() throws {
            let upstream = try TestUpstream { _ in .respond(UpstreamResponse(body: .pattern(count: 1 << 20, chunked: false))) }
            defer { upstream.stop() }
            try withProxy(ProxyConfig.single(primary: upstream), threads: 1) { proxy in
                let before = Self.pipeDescriptors(proxy)
                let clients = try (0..<16).map { _ in try RawClient(port: proxy.port) }
                defer { for c in clients { c.close() } }
                for c in clients { try c.send(HTTPText.request("GET", "/big")) }
                for c in clients {
                    let response = try c.readResponse()
                    #expect(response.status == 200 && response.body.count == 1 << 20)
                }
                let pooled = Self.pipeDescriptors(proxy) - before
                #expect(pooled >= 2, "the splices' pipes wait in the pool: \(pooled) pipe fds")
                let closed = Posix.waitUntil(timeout: 10) { Self.pipeDescriptors(proxy) <= before }
                #expect(closed, "the burst's pipes are closed: \(Self.pipeDescriptors(proxy) - before) pipe fds left")
            }
        }
    }
}
