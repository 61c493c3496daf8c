// Route matching on raw bytes: exact and wildcard hosts, longest path prefix, ports ignored, no match.
import Config
import Testing
@testable import Proxy

@Suite struct RouteTableTests {
    private func route(_ name: String, host: String? = nil, prefix: String = "/", port: UInt16 = 9001) -> RouteConfig {
        RouteConfig(
            name: name, match: MatchConfig(host: host, pathPrefix: prefix),
            primary: ArmConfig(revision: "v1", endpoints: [HostPort(host: "127.0.0.1", port: port)]), canary: nil)
    }

    private func match(_ table: RouteTable, host: String?, path: String) -> String? {
        let p = Array(path.utf8)
        return p.withUnsafeBytes { pathBytes in
            if let host {
                return Array(host.utf8).withUnsafeBytes { table.match(host: $0, path: pathBytes)?.name }
            }
            return table.match(host: nil, path: pathBytes)?.name
        }
    }

    @Test func longestPrefixWinsWhateverTheOrder() throws {
        let table = try RouteTable(routes: [route("root"), route("api", prefix: "/api"), route("v2", prefix: "/api/v2")])
        #expect(match(table, host: "x", path: "/") == "root")
        #expect(match(table, host: "x", path: "/api/users") == "api")
        #expect(match(table, host: "x", path: "/api/v2/users") == "v2")
        #expect(match(table, host: "x", path: "/other") == "root")
    }

    @Test func exactHostBeatsWildcardBeatsAny() throws {
        let table = try RouteTable(routes: [
            route("any", prefix: "/"), route("wild", host: "*.example.com"), route("exact", host: "shop.example.com"),
        ])
        #expect(match(table, host: "shop.example.com", path: "/") == "exact")
        #expect(match(table, host: "SHOP.Example.COM:8080", path: "/") == "exact")
        #expect(match(table, host: "blog.example.com", path: "/") == "wild")
        #expect(match(table, host: "example.com", path: "/") == "any")
        #expect(match(table, host: "evil-example.com", path: "/") == "any")
        #expect(match(table, host: nil, path: "/") == "any")
    }

    @Test func noRouteWhenNothingMatches() throws {
        let table = try RouteTable(routes: [route("only", host: "a.test", prefix: "/app")])
        #expect(match(table, host: "a.test", path: "/") == nil)
        #expect(match(table, host: "b.test", path: "/app") == nil)
        #expect(match(table, host: "a.test", path: "/app/x") == "only")
    }

    @Test func portIsStrippedButIPv6BracketsAreKept() {
        func strip(_ s: String) -> String {
            Array(s.utf8).withUnsafeBytes { String(decoding: RouteTable.stripPort($0), as: UTF8.self) }
        }
        #expect(strip("example.com:8080") == "example.com")
        #expect(strip("example.com") == "example.com")
        #expect(strip("[::1]:80") == "[::1]")
        #expect(strip("[::1]") == "[::1]")
    }
}
