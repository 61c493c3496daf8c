// After a burst of concurrent slow requests, the loop's buffer pool frees the buffers the burst left cached (canarygate_buffer_pool_bytes).
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension Integration {
    @Suite("Buffer pool trim")
    struct BufferPoolTrimTests {
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
    }
}
