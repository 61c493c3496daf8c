// Cohorts over real sockets: requests matching the canary's `match` reach the canary, by header, cookie and method, over HTTP/1.1 and HTTP/2.
import Foundation
import Testing

extension Integration {
    @Suite("Cohorts")
    struct Cohorts {
        /// A catch-all route at weight 0 (pure A/B) whose canary takes the cohort `match`.
        private static func config(primary: TestUpstream, canary: TestUpstream, match: String) -> ProxyConfig {
            var route = RouteSpec(primary: ArmSpec("v1", primary), canary: ArmSpec("v2", canary), weight: 0)
            route.cohort = match
            return ProxyConfig(routes: [route])
        }

        @Test func aHeaderCohortReachesTheCanaryOverHTTP1AndHTTP2() throws {
            try H2Tools.requirePythonH2()
            let primary = try TestUpstream(name: "primary", text: "primary")
            let canary = try TestUpstream(name: "canary", text: "canary")
            defer { primary.stop(); canary.stop() }
            let match = "[ { headers: { x-canary: { exact: insider } } } ]"
            try withProxy(Self.config(primary: primary, canary: canary, match: match)) { proxy in
                let client = try proxy.client()
                for i in 0..<20 {
                    let insider = try client.get("/h1/\(i)", headers: [HTTPField("X-Canary", "insider")])
                    #expect(insider.status == 200 && insider.text == "canary", "\(insider.status) \(insider.text)")
                    let other = try client.get("/h1/\(i)", headers: [HTTPField("X-Canary", "outsider")])
                    #expect(other.status == 200 && other.text == "primary", "\(other.status) \(other.text)")
                }
                let h2Insider = try H2Client.run(
                    "request", port: proxy.port,
                    [
                        "--authority", "example.test", "--path", "/h2/a", "--path", "/h2/b", "--header", "x-canary: insider",
                    ])
                try #require(h2Insider.ok, "\(h2Insider)")
                #expect(h2Insider.streams.map(\.body) == ["canary", "canary"], "\(h2Insider)")
                let h2Other = try H2Client.run("request", port: proxy.port, ["--authority", "example.test", "--path", "/h2/c"])
                try #require(h2Other.ok, "\(h2Other)")
                #expect(h2Other.streams.map(\.body) == ["primary"], "\(h2Other)")
                #expect(canary.requests.map(\.target).filter { $0.hasPrefix("/h2/") }.sorted() == ["/h2/a", "/h2/b"])
                #expect(canary.requestCount == 22 && primary.requestCount == 21)
            }
        }

        @Test func aCookieCohortReachesTheCanary() throws {
            let primary = try TestUpstream(name: "primary", text: "primary")
            let canary = try TestUpstream(name: "canary", text: "canary")
            defer { primary.stop(); canary.stop() }
            let match = "[ { cookies: { canary: { regex: \"^always$\" } } } ]"
            try withProxy(Self.config(primary: primary, canary: canary, match: match)) { proxy in
                let client = try proxy.client()
                let inCohort = try client.get("/", headers: [HTTPField("Cookie", "theme=dark; canary=always")])
                #expect(inCohort.text == "canary", "\(inCohort.status) \(inCohort.text)")
                let otherValue = try client.get("/", headers: [HTTPField("Cookie", "canary=alwayss")])
                #expect(otherValue.text == "primary", "\(otherValue.status) \(otherValue.text)")
                let otherName = try client.get("/", headers: [HTTPField("Cookie", "Canary=always")])
                #expect(otherName.text == "primary", "\(otherName.status) \(otherName.text)")
            }
        }

        @Test func aMethodCohortReachesTheCanary() throws {
            let primary = try TestUpstream(name: "primary", text: "primary")
            let canary = try TestUpstream(name: "canary", text: "canary")
            defer { primary.stop(); canary.stop() }
            try withProxy(Self.config(primary: primary, canary: canary, match: "[ { method: PURGE } ]")) { proxy in
                let client = try proxy.client()
                let purge = try client.exchange(HTTPText.request("PURGE", "/cache", host: "example.test"), method: "PURGE")
                #expect(purge.status == 200 && purge.text == "canary", "\(purge.status) \(purge.text)")
                let get = try client.get("/cache")
                #expect(get.status == 200 && get.text == "primary", "\(get.status) \(get.text)")
                #expect(canary.requests.map(\.method) == ["PURGE"] && primary.requests.map(\.method) == ["GET"])
            }
        }
    }
}
