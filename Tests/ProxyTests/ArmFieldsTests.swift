// ArmFields: each route's arms named with the revision that serves them, an undo's primary override included.

import Config
import HTTP
@testable import Proxy
import Testing

@Suite struct ArmFieldsTests {
    private static let yaml = """
        listeners:
          - name: web
            address: "127.0.0.1:8080"
        tracing: { armHeader: true }
        routes:
          - name: web
            primary: { revision: v1, endpoints: ["127.0.0.1:9"] }
            canary: { revision: v2, endpoints: ["127.0.0.1:10"], weight: 10 }
          - name: api
            match: { pathPrefix: /api }
            primary: { revision: api-3, endpoints: ["127.0.0.1:11"] }

        """

    private func text(_ field: ArmField?) -> String? { field.map { String(decoding: $0.line, as: UTF8.self) } }

    @Test func eachArmIsNamedWithItsRevision() throws {
        let snapshot = try ProxySnapshot(config: ConfigLoader.parse(Self.yaml), generation: 1)
        let fields = try #require(snapshot.armFields)
        #expect(text(fields.field(route: 0, arm: .primary)) == "x-canarygate-arm: primary/v1\r\n")
        #expect(text(fields.field(route: 0, arm: .canary)) == "x-canarygate-arm: canary/v2\r\n")
        #expect(text(fields.field(route: 1, arm: .primary)) == "x-canarygate-arm: primary/api-3\r\n")
        #expect(String(decoding: fields.field(route: 0, arm: .canary).value, as: UTF8.self) == "canary/v2")
    }

    @Test func anUndosOverrideIsTheRevisionThePrimaryServes() throws {
        let previous = ArmConfig(revision: "v0", endpoints: [HostPort(host: "127.0.0.1", port: 12)])
        let snapshot = try ProxySnapshot(config: ConfigLoader.parse(Self.yaml), generation: 2, primaryOverrides: ["web": previous])
        #expect(text(snapshot.armFields?.field(route: 0, arm: .primary)) == "x-canarygate-arm: primary/v0\r\n")
        #expect(text(snapshot.armFields?.field(route: 1, arm: .primary)) == "x-canarygate-arm: primary/api-3\r\n")
    }

    @Test func offMeansNoFieldsAndStartIsTheDefault() throws {
        let off = Self.yaml.replacingOccurrences(of: "tracing: { armHeader: true }", with: "tracing: { traceparent: pass }")
        let snapshot = try ProxySnapshot(config: ConfigLoader.parse(off), generation: 1)
        #expect(snapshot.armFields == nil && !snapshot.startsTraces)
        #expect(try ProxySnapshot(config: ConfigLoader.parse(Self.yaml), generation: 1).startsTraces)
    }
}
