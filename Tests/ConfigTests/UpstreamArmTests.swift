// An arm's `tls` (serverName, caFile) and `protocol` keys: defaults, values, and errors with their lines.
import Config
import Testing

@Suite struct UpstreamArmTests {
    /// A route whose primary arm has `keys` (one line each, line 9 onwards) after revision and endpoints,
    /// and a plain canary.
    private func config(_ keys: String...) -> String {
        """
        listeners:
          - name: http
            address: 0.0.0.0:8080
        routes:
          - name: web
            primary:
              revision: v1
              endpoints: ["api.internal:443"]
        \(keys.map { "      " + $0 }.joined(separator: "\n"))
            canary: { revision: v2, endpoints: ["127.0.0.1:9002"] }

        """
    }

    @Test func armsArePlainHTTP1ByDefault() throws {
        let route = try ConfigLoader.parse(config()).routes[0]
        #expect(route.primary.tls == nil)
        #expect(route.primary.protocol == .http1)
        #expect(route.canary?.arm.tls == nil)
        #expect(route.canary?.arm.protocol == .http1)
    }

    @Test func tlsWithBothKeys() throws {
        let arm = try ConfigLoader.parse(config("tls: { serverName: API.Example.com, caFile: /etc/canarygate/upstream-ca.pem }")).routes[0]
            .primary
        // The name is lowercased: certificate names match case-insensitively.
        #expect(arm.tls == UpstreamTLSConfig(serverName: "api.example.com", caFile: "/etc/canarygate/upstream-ca.pem"))
    }

    @Test func anEmptyTLSMappingTakesBothDefaults() throws {
        let arm = try ConfigLoader.parse(config("tls: {}")).routes[0].primary
        #expect(arm.tls == UpstreamTLSConfig(serverName: nil, caFile: nil))
    }

    @Test func serverNamesMayBeIPAddresses() throws {
        #expect(try ConfigLoader.parse(config("tls: { serverName: 10.0.0.7 }")).routes[0].primary.tls?.serverName == "10.0.0.7")
        #expect(try ConfigLoader.parse(config("tls: { serverName: \"[FD00::7]\" }")).routes[0].primary.tls?.serverName == "fd00::7")
    }

    @Test func protocolH2() throws {
        let arm = try ConfigLoader.parse(config("protocol: h2")).routes[0].primary
        #expect(arm.protocol == .h2)
        #expect(arm.tls == nil)
    }

    @Test func theCanaryReadsTheSameKeys() throws {
        let yaml =
            minimalConfig + """
                    canary: { revision: v2, endpoints: ["127.0.0.1:9002"], protocol: h2 }

                """
        #expect(try #require(try ConfigLoader.parse(yaml).routes[0].canary).arm.protocol == .h2)
        let withTLS =
            minimalConfig + """
                    canary: { revision: v2, endpoints: ["127.0.0.1:9002"], tls: { caFile: /ca.pem } }

                """
        #expect(try #require(try ConfigLoader.parse(withTLS).routes[0].canary).arm.tls == UpstreamTLSConfig(caFile: "/ca.pem"))
    }

    @Test func anHTTP2ArmMayUseTLS() throws {
        let arm = try ConfigLoader.parse(config("protocol: h2", "tls: {}")).routes[0].primary
        #expect(arm.protocol == .h2)
        #expect(arm.tls == UpstreamTLSConfig())
    }

    @Test func badValuesAreNamedWithTheirLines() {
        #expect(
            problems(config("protocol: h3")) == [
                "routes[0].primary.protocol: \"h3\" is not an upstream protocol; expected http1 or h2 (line 9)"
            ])
        #expect(problems(config("protocol: [h2]")) == ["routes[0].primary.protocol: expected http1 or h2 (line 9)"])
        #expect(
            problems(config("tls: { serverName: \"api.internal:443\" }")) == [
                "routes[0].primary.tls.serverName: \"api.internal:443\" is not a host name or an IP address (line 9)"
            ])
        #expect(
            problems(config("tls: { serverName: \"*.internal\" }")) == [
                "routes[0].primary.tls.serverName: \"*.internal\" is not a host name (line 9)"
            ])
        #expect(problems(config("tls: { caFile: \"\" }")) == ["routes[0].primary.tls.caFile: must not be empty (line 9)"])
        #expect(problems(config("tls: true")) == ["routes[0].primary.tls: expected a mapping (line 9)"])
    }

    @Test func unknownTLSKeysAreErrors() {
        #expect(
            problems(config("tls:", "  serverName: api.internal", "  verify: false")) == [
                "routes[0].primary.tls.verify: unknown key (line 11)"
            ])
    }
}
