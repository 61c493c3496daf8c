// Route matching: exact and wildcard hosts, longest path prefix, and round-robin over an arm's endpoints.
import Foundation
import Testing

extension Integration {
    @Suite("Routing")
    struct Routing {
        @Test func hostAndLongestPrefixChooseTheUpstream() throws {
            let names = ["exact", "wildcard", "long", "short", "root"]
            let upstreams = try names.map { name in try TestUpstream(name: name, text: name) }
            defer { upstreams.forEach { $0.stop() } }
            let by = Dictionary(uniqueKeysWithValues: zip(names, upstreams))
            let config = ProxyConfig(routes: [
                // Declared shortest first: the proxy must order by prefix length, not by position.
                RouteSpec("root", pathPrefix: "/", primary: ArmSpec("v1", by["root"]!)),
                RouteSpec("short", pathPrefix: "/static", primary: ArmSpec("v1", by["short"]!)),
                RouteSpec("long", pathPrefix: "/static/img", primary: ArmSpec("v1", by["long"]!)),
                RouteSpec("wildcard", host: "*.example.com", primary: ArmSpec("v1", by["wildcard"]!)),
                RouteSpec("exact", host: "api.example.com", primary: ArmSpec("v1", by["exact"]!)),
            ])
            let expectations: [(host: String, path: String, route: String)] = [
                ("api.example.com", "/", "exact"),
                ("API.Example.COM", "/users", "exact"),
                ("www.example.com", "/", "wildcard"),
                ("deep.sub.example.com", "/x", "wildcard"),
                ("example.com", "/", "root"),  // `*.example.com` needs a subdomain
                ("notexample.com", "/", "root"),
                ("other.org", "/static/img/logo.png", "long"),
                ("other.org", "/static/css/site.css", "short"),
                ("other.org", "/static", "short"),
                ("other.org", "/index.html", "root"),
            ]
            try withProxy(config) { proxy in
                let client = try proxy.client()
                for (host, path, route) in expectations {
                    let response = try client.get(path, host: host)
                    #expect(
                        response.status == 200 && response.text == route,
                        "Host \(host) \(path) went to \(response.text) (\(response.status)), want \(route)")
                }
                for (name, upstream) in by {
                    let want = expectations.filter { $0.route == name }.count
                    #expect(upstream.requestCount == want, "\(name) got \(upstream.requestCount) requests, want \(want)")
                }
            }
        }

        @Test func anArmsEndpointsShareItsTrafficRoundRobin() throws {
            let a = try TestUpstream(name: "a", text: "a")
            let b = try TestUpstream(name: "b", text: "b")
            let c = try TestUpstream(name: "c", text: "c")
            defer { a.stop(); b.stop(); c.stop() }
            try withProxy(ProxyConfig(routes: [RouteSpec(primary: ArmSpec("v1", a, b, c))]), threads: 1) { proxy in
                let client = try proxy.client()
                for i in 0..<90 { #expect(try client.get("/\(i)").status == 200) }
                for upstream in [a, b, c] {
                    #expect(upstream.requestCount == 30, "\(upstream.name) got \(upstream.requestCount) of 90")
                }
            }
        }
    }
}
