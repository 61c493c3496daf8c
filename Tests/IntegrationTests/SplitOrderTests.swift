// The split owes nothing to request order: one keep-alive client alternating two paths gets the weight on each.
import Foundation
import Testing

extension Integration {
    @Suite("Split order")
    struct SplitOrder {
        /// A deterministic split (every other request to the canary at weight 50) sent all of one path
        /// to one arm here. Each path's 200 requests take 50 of the 100 slots of each of 4 blocks, so
        /// its canary count is a sum of 4 hypergeometric draws (50 of 100, 50 canary): variance
        /// 4 × 50·½·½·50/99 = 25.3, sd 5.0 requests, 0.025 of the share; [0.35, 0.65] is 6 sd.
        @Test func alternatingPathsOnOneConnectionEachGetTheWeight() throws {
            let primary = try TestUpstream(name: "primary", text: "primary")
            let canary = try TestUpstream(name: "canary", text: "canary")
            defer { primary.stop(); canary.stop() }
            let config = ProxyConfig(routes: [
                RouteSpec(
                    "web", pathPrefix: "/", primary: ArmSpec("v1", primary),
                    canary: ArmSpec("v2", canary), weight: 50)
            ])
            try withProxy(config, threads: 2) { proxy in
                let client = try proxy.client()
                var canaryCount = ["/a": 0, "/b": 0]
                var answered = 0
                for i in 0..<400 {
                    let path = i % 2 == 0 ? "/a" : "/b"
                    let response = try client.get(path)
                    guard response.status == 200, ["primary", "canary"].contains(response.text) else {
                        Issue.record("request \(i) to \(path): \(response.status) \(response.text)")
                        break
                    }
                    answered += 1
                    if response.text == "canary" { canaryCount[path]! += 1 }
                }
                try #require(answered == 400)
                for (path, count) in canaryCount.sorted(by: { $0.key < $1.key }) {
                    let share = Double(count) / 200
                    #expect((0.35...0.65).contains(share), "\(path): canary share \(share) at weight 50")
                }
                // One connection is served by one loop, and it is the route's only traffic there, so its
                // 400 requests are that loop's first 4 blocks of 100 at weight 50: exactly 200 canary.
                let total = canaryCount.values.reduce(0, +)
                #expect(total == 200, "\(total) of 400 went to the canary")
                #expect(canary.requestCount == total)
                #expect(primary.requestCount == 400 - total)
            }
        }
    }
}
