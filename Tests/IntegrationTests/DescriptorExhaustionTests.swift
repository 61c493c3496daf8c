// More idle clients than the proxy has descriptors: the admin API still answers, the CPU idles, a new client is served.
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension Integration {
    @Suite("Descriptor exhaustion")
    struct DescriptorExhaustionTests {
        /// RLIMIT_NOFILE of the proxy (soft and hard, so it cannot raise it).
        static let fileLimit = 256
        /// More than `fileLimit`: every one a head that never ends. Not many more: a new client waits
        /// behind all of them in the backlog, about idleClients / maxConnections header timeouts.
        static let idleClients = 270
        /// Longer than filling the proxy and measuring it takes, so no idle client leaves before.
        static let headerTimeout = ["requestHeader": "3s"]

        /// The derived limit keeps descriptors back: the listener stops accepting at it, and everything else goes on.
        @Test func idleClientsBeyondTheDescriptorLimitLeaveTheProxyAnswering() throws {
            let upstream = try TestUpstream(text: "served\n")
            defer { upstream.stop() }
            try withProxy(ProxyConfig.single(primary: upstream, timeouts: Self.headerTimeout), threads: 1, fileLimit: Self.fileLimit) {
                proxy in
                let idle = try Self.openIdleClients(proxy)
                defer { idle.forEach { $0.close() } }
                #expect(
                    Posix.waitUntil(timeout: 5) { (Self.descriptorCount(pid: proxy.pid) ?? 0) >= 80 },
                    "the proxy holds \(Self.descriptorCount(pid: proxy.pid) ?? -1) descriptors")
                try Self.expectAnsweringAndIdle(proxy)
                try Self.expectANewClientServed(proxy)

                let metrics = try proxy.admin("/metrics").text
                let limited = Self.sample(metrics, "canarygate_listener_limited_total{listener=\"http\"}")
                #expect((limited ?? 0) >= 1, "limited: \(limited.map { "\($0)" } ?? "absent")")
                // Derived: (256 - a reserve of 64 + 1 loop × (2 + 1 listener)) / 2.
                #expect(Self.sample(metrics, "canarygate_max_connections") == 94)
                let open = Self.sample(metrics, "canarygate_listener_connections{listener=\"http\"}")
                #expect(open.map { $0 <= 94 } == true, "open: \(open.map { "\($0)" } ?? "absent")")
                #expect(proxy.log.contains("descriptor limit 256; maxConnections 94 (derived)"), "\(proxy.log.prefix(2000))")
            }
        }

        /// A limit set above what the descriptors allow lets clients take them all: the listener retries
        /// every 100 ms instead of spinning, and the admin API answers with its spare descriptor.
        @Test func clientsHoldingEveryDescriptorLeaveTheProxyAnswering() throws {
            let upstream = try TestUpstream(text: "served\n")
            defer { upstream.stop() }
            let config = ProxyConfig.single(primary: upstream, timeouts: Self.headerTimeout, limits: ["maxConnections": 10_000])
            try withProxy(config, threads: 1, fileLimit: Self.fileLimit) { proxy in
                let idle = try Self.openIdleClients(proxy)
                defer { idle.forEach { $0.close() } }
                #expect(
                    Posix.waitUntil(timeout: 5) { Self.descriptorCount(pid: proxy.pid) == Self.fileLimit },
                    "the proxy holds \(Self.descriptorCount(pid: proxy.pid) ?? -1) descriptors")
                try Self.expectAnsweringAndIdle(proxy)
                try Self.expectANewClientServed(proxy)
                #expect(proxy.log.components(separatedBy: "Too many open files").count - 1 < 10, "one warning per shortage")
            }
        }

        /// `idleClients` connections, each with a head that never ends. The kernel completes every connect
        /// from the backlog whether the proxy accepts it or not.
        static func openIdleClients(_ proxy: ProxyProcess) throws -> [RawClient] {
            try (0..<idleClients).map { _ in
                let client = try proxy.client()
                try client.send("GET / HTTP/1.1\r\nHost: example.test\r\n")
                return client
            }
        }

        /// While full (within the idle clients' header timeout): `/healthz` answers at once, and the
        /// proxy waits rather than spin a core on a listener it cannot accept from.
        static func expectAnsweringAndIdle(_ proxy: ProxyProcess) throws {
            let health = try? RawClient.fetch(port: proxy.adminPort, HTTPText.request("GET", "/healthz", host: "127.0.0.1"), timeout: 1)
            #expect(health?.status == 200, "GET /healthz while full: \(health.map { "\($0.status)" } ?? "no answer within 1 s")")
            let before = try #require(cpuSeconds(pid: proxy.pid))
            let start = Date()
            usleep(2_000_000)  // the measurement window
            let used = try #require(cpuSeconds(pid: proxy.pid)) - before
            let wall = Date().timeIntervalSince(start)
            #expect(used < 0.15 * wall, "the proxy used \(used) s of CPU in \(wall) s while full")
        }

        /// A new client waits in the backlog behind the idle ones and is served as their header timeouts
        /// free room (a few rounds of 3 s), never left hanging.
        static func expectANewClientServed(_ proxy: ProxyProcess) throws {
            let fresh = try proxy.client(timeout: 30)
            let response = try fresh.get("/")
            #expect(response.status == 200)
            #expect(response.text == "served\n")
        }

        /// Open descriptors of `pid` (entries of /proc/PID/fd).
        static func descriptorCount(pid: Int32) -> Int? {
            (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd"))?.count
        }

        /// User plus system CPU time of `pid` in seconds (/proc/PID/stat fields 14 and 15).
        static func cpuSeconds(pid: Int32) -> Double? {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return nil }
            // After the command name: field 3 (state) is the first.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
            return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
        }

        /// The value of the sample line starting with `series` followed by a space.
        static func sample(_ metrics: String, _ series: String) -> Double? {
            metrics.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.dropFirst(series.count + 1)) }
        }
    }
}
