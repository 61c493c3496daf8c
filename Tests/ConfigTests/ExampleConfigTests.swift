// The issue's example config is accepted as written, with exactly the values it states.
import Config
import Testing

/// Kept identical to config/canarygate.yaml, which a test below checks.
let issueExample = """
    admin:
      address: 127.0.0.1:9901
    listeners:
      - name: http
        address: 0.0.0.0:8080
    timeouts:            # all optional; defaults like nginx/HAProxy
      requestHeader: 10s
      idle: 60s
      upstreamConnect: 2s
      upstreamResponse: 30s
    routes:
      - name: web
        match:
          pathPrefix: /
        primary:
          revision: v1
          endpoints: ["127.0.0.1:9001"]
        canary:
          revision: v2
          endpoints: ["127.0.0.1:9002"]
          weight: 20

    """

@Suite struct ExampleConfigTests {
    @Test func issueExampleHasExactlyItsValues() throws {
        let config = try ConfigLoader.parse(issueExample)
        var expected = CanarygateConfig()
        expected.admin = AdminConfig(address: HostPort(host: "127.0.0.1", port: 9901))
        expected.listeners = [ListenerConfig(name: "http", address: HostPort(host: "0.0.0.0", port: 8080))]
        expected.timeouts.requestHeader = .seconds(10)
        expected.timeouts.idle = .seconds(60)
        expected.timeouts.upstreamConnect = .seconds(2)
        expected.timeouts.upstreamResponse = .seconds(30)
        expected.routes = [
            RouteConfig(
                name: "web",
                match: MatchConfig(host: nil, pathPrefix: "/"),
                primary: ArmConfig(revision: "v1", endpoints: [HostPort(host: "127.0.0.1", port: 9001)]),
                canary: CanaryConfig(
                    arm: ArmConfig(revision: "v2", endpoints: [HostPort(host: "127.0.0.1", port: 9002)]),
                    weight: 20))
        ]
        #expect(config == expected)
        #expect(config.threads == nil)
        #expect(config.timeouts.upstreamIdle == .seconds(30))
        #expect(config.timeouts.drain == .seconds(30))
        #expect(config.limits == LimitsConfig())
    }

    @Test func shippedConfigFileIsTheIssueExample() throws {
        // #filePath is …/Tests/ConfigTests/ExampleConfigTests.swift; the file is …/config/canarygate.yaml.
        let root = #filePath.split(separator: "/", omittingEmptySubsequences: false).dropLast(3).joined(separator: "/")
        let shipped = try ConfigLoader.load(path: root + "/config/canarygate.yaml")
        #expect(shipped == (try ConfigLoader.parse(issueExample)))
    }

    @Test func minimalConfigTakesTheDefaults() throws {
        let config = try ConfigLoader.parse(minimalConfig)
        #expect(config.admin.address == HostPort(host: "127.0.0.1", port: 9901))
        #expect(config.timeouts == TimeoutsConfig())
        #expect(config.limits == LimitsConfig())
        #expect(config.routes[0].match == MatchConfig(host: nil, pathPrefix: "/"))
        #expect(config.routes[0].canary == nil)
    }

    @Test func everyKeyCanBeSet() throws {
        let config = try ConfigLoader.parse(
            """
            threads: 4
            admin: { address: "[::1]:9000" }
            listeners:
              - { name: http, address: 0.0.0.0:80 }
              - { name: alt, address: "[::]:8080" }
            timeouts: { requestHeader: 5s, idle: 1m, requestBody: 4s, upstreamConnect: 500ms, upstreamResponse: 1h30m, upstreamIdle: 90s, drain: 250us }
            limits: { maxHeaderBytes: 1024, maxHeaderCount: 10000, maxIdlePerEndpoint: 0, minRequestBodyRate: 0, requestBuffer: 8192 }
            routes:
              - name: api.v2_x-y
                match: { host: "*.Example.COM", pathPrefix: /api }
                primary: { revision: 1.10, endpoints: [backend-1.internal:9001, "[fe80::1]:9002"] }
                canary: { revision: "1.11", endpoints: [localhost:9003] }
            """)
        #expect(config.threads == 4)
        #expect(config.admin.address.description == "[::1]:9000")
        #expect(config.listeners.map(\.name) == ["http", "alt"])
        #expect(config.listeners[1].address == HostPort(host: "::", port: 8080))
        let timeouts = config.timeouts
        #expect(timeouts.requestHeader == .seconds(5))
        #expect(timeouts.idle == .seconds(60))
        #expect(timeouts.requestBody == .seconds(4))
        #expect(timeouts.upstreamConnect == .milliseconds(500))
        #expect(timeouts.upstreamResponse == .seconds(5400))
        #expect(timeouts.upstreamIdle == .seconds(90))
        #expect(timeouts.drain == .microseconds(250))
        #expect(config.limits.maxHeaderBytes == 1024)
        #expect(config.limits.maxHeaderCount == 10000)
        #expect(config.limits.maxIdlePerEndpoint == 0)
        #expect(config.limits.minRequestBodyRate == 0)
        #expect(config.limits.requestBuffer == 8192)
        let route = config.routes[0]
        #expect(route.name == "api.v2_x-y")
        #expect(route.match == MatchConfig(host: "*.example.com", pathPrefix: "/api"))
        #expect(route.primary.revision == "1.10")
        #expect(
            route.primary.endpoints == [
                HostPort(host: "backend-1.internal", port: 9001), HostPort(host: "fe80::1", port: 9002),
            ])
        #expect(
            route.canary
                == CanaryConfig(
                    arm: ArmConfig(revision: "1.11", endpoints: [HostPort(host: "localhost", port: 9003)]), weight: 0))
    }

    @Test func emptyValuesMeanAbsent() throws {
        let config = try ConfigLoader.parse(minimalConfig + "timeouts:\nadmin: ~\n")
        #expect(config.timeouts == TimeoutsConfig())
        #expect(config.admin == AdminConfig())
    }

    @Test func aliasesAreFollowed() throws {
        let config = try ConfigLoader.parse(
            """
            listeners: [{ name: http, address: 0.0.0.0:8080 }]
            routes:
              - name: web
                primary: { revision: v1, endpoints: &backends ["10.0.0.1:80", "10.0.0.2:80"] }
                canary: { revision: v2, endpoints: *backends, weight: 5 }
            """)
        #expect(config.routes[0].canary?.arm.endpoints == config.routes[0].primary.endpoints)
    }
}
