// The primary/canary split: exact in aggregate (any 1,000 consecutive requests of a loop within 1 point).
import Foundation
import Testing

extension Integration {
    @Suite("Weighted split")
    struct Split {
        /// Sends `count` requests on one keep-alive connection; returns the arm of each, in order.
        static func arms(_ proxy: ProxyProcess, prefix: String, count: Int) throws -> [String] {
            let client = try proxy.client()
            var arms: [String] = []
            arms.reserveCapacity(count)
            for i in 0..<count {
                let response = try client.get("\(prefix)/\(i)")
                guard response.status == 200 else {
                    Issue.record("request \(i) to \(prefix): \(response.status) \(response.text)")
                    break
                }
                arms.append(response.text)
            }
            return arms
        }

        @Test func weightsTwentyZeroAndHundredOnOneLoop() throws {
            let primary = try TestUpstream(name: "primary", text: "primary")
            let canary = try TestUpstream(name: "canary", text: "canary")
            defer { primary.stop(); canary.stop() }
            let config = ProxyConfig(routes: [20, 0, 100].map { weight in
                RouteSpec("w\(weight)", pathPrefix: "/w\(weight)", primary: ArmSpec("v1", primary),
                          canary: ArmSpec("v2", canary), weight: weight)
            })
            try withProxy(config, threads: 1) { proxy in
                // Weight 20: every window of 1,000 consecutive requests has 200 ± 10 canary picks.
                let twenty = try Self.arms(proxy, prefix: "/w20", count: 2000)
                try #require(twenty.count == 2000)
                let isCanary = twenty.map { $0 == "canary" ? 1 : 0 }
                var inWindow = isCanary[0..<1000].reduce(0, +)
                var worst = (low: inWindow, high: inWindow)
                for start in 1...1000 {
                    inWindow += isCanary[start + 999] - isCanary[start - 1]
                    worst = (min(worst.low, inWindow), max(worst.high, inWindow))
                }
                #expect(worst.low >= 190 && worst.high <= 210,
                        "canary picks per 1,000-request window ranged \(worst.low)...\(worst.high), want 190...210")
                let total = isCanary.reduce(0, +)
                #expect((380...420).contains(total), "\(total) of 2000 went to the canary")
                // The upstreams agree with what the client saw.
                #expect(canary.requests.filter { $0.path.hasPrefix("/w20") }.count == total)
                #expect(primary.requests.filter { $0.path.hasPrefix("/w20") }.count == 2000 - total)

                let zero = try Self.arms(proxy, prefix: "/w0", count: 1000)
                #expect(zero.count == 1000 && zero.allSatisfy { $0 == "primary" },
                        "weight 0 sent \(zero.filter { $0 == "canary" }.count) requests to the canary")

                let hundred = try Self.arms(proxy, prefix: "/w100", count: 1000)
                #expect(hundred.count == 1000 && hundred.allSatisfy { $0 == "canary" },
                        "weight 100 sent \(hundred.filter { $0 == "primary" }.count) requests to the primary")
                #expect(primary.requests.filter { $0.path.hasPrefix("/w100") }.isEmpty)
                #expect(canary.requests.filter { $0.path.hasPrefix("/w0") }.isEmpty)
            }
        }

        /// Many short client connections (each lands on some loop) still add up to the weight.
        @Test func splitHoldsAcrossConnectionsAndLoops() throws {
            let primary = try TestUpstream(name: "primary", text: "primary")
            let canary = try TestUpstream(name: "canary", text: "canary")
            defer { primary.stop(); canary.stop() }
            try withProxy(.single(primary: primary, canary: canary, weight: 30), threads: 2) { proxy in
                for _ in 0..<100 {
                    let client = try proxy.client()
                    for i in 0..<10 { #expect(try client.get("/c\(i)").status == 200) }
                    client.close()
                }
                // Each loop sees only part of a 1,000-request window, where a stratified pick may wander
                // (hypergeometric, sd ≈ 8 per loop); ±45 is over 4 sd and still catches a wrong weight.
                #expect((255...345).contains(canary.requestCount),
                        "canary got \(canary.requestCount) of 1000 at weight 30")
                #expect(primary.requestCount + canary.requestCount == 1000)
            }
        }
    }
}
