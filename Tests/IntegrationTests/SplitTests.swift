// The primary/canary split: exactly `weight` canary requests in every block of 100 a loop serves a route.
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
            let config = ProxyConfig(
                routes: [20, 0, 100].map { weight in
                    RouteSpec(
                        "w\(weight)", pathPrefix: "/w\(weight)", primary: ArmSpec("v1", primary),
                        canary: ArmSpec("v2", canary), weight: weight)
                })
            try withProxy(config, threads: 1) { proxy in
                // Weight 20: this connection is the route's only traffic on the one loop, so its
                // requests are the loop's blocks from the first: exactly 20 canary in each 100.
                let twenty = try Self.arms(proxy, prefix: "/w20", count: 2000)
                try #require(twenty.count == 2000)
                let isCanary = twenty.map { $0 == "canary" ? 1 : 0 }
                let perBlock = stride(from: 0, to: 2000, by: 100).map { isCanary[$0..<($0 + 100)].reduce(0, +) }
                #expect(perBlock.allSatisfy { $0 == 20 }, "canary picks per block of 100: \(perBlock)")
                let total = isCanary.reduce(0, +)
                #expect(total == 400, "\(total) of 2000 went to the canary")
                // The upstreams agree with what the client saw.
                #expect(canary.requests.filter { $0.path.hasPrefix("/w20") }.count == total)
                #expect(primary.requests.filter { $0.path.hasPrefix("/w20") }.count == 2000 - total)

                let zero = try Self.arms(proxy, prefix: "/w0", count: 1000)
                #expect(
                    zero.count == 1000 && zero.allSatisfy { $0 == "primary" },
                    "weight 0 sent \(zero.filter { $0 == "canary" }.count) requests to the canary")

                let hundred = try Self.arms(proxy, prefix: "/w100", count: 1000)
                #expect(
                    hundred.count == 1000 && hundred.allSatisfy { $0 == "canary" },
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
                // Each loop's completed blocks are exact; its last, partial block is hypergeometric
                // (sd ≤ 2.3 requests at weight 30), so the total's sd is under 3.3; ±45 has room for
                // any count of loops and still catches a wrong weight.
                #expect(
                    (255...345).contains(canary.requestCount),
                    "canary got \(canary.requestCount) of 1000 at weight 30")
                #expect(primary.requestCount + canary.requestCount == 1000)
            }
        }
    }
}
