// `limits.maxConnections` (proxy-wide) and `listeners[].maxConnections`: absent by default, range-checked with field and line.
import Config
import Testing

@Suite struct MaxConnectionsTests {
    private func config(listener: Int? = nil, limits: String? = nil) -> String {
        """
        listeners:
          - name: http
            address: 127.0.0.1:8080
        \(listener.map { "    maxConnections: \($0)" } ?? "")
        \(limits.map { "limits: { maxConnections: \($0) }" } ?? "")
        routes:
          - name: web
            primary: { revision: v1, endpoints: ["127.0.0.1:9001"] }
        """
    }

    @Test func absentByDefault() throws {
        let parsed = try ConfigLoader.parse(config())
        #expect(parsed.limits.maxConnections == nil)
        #expect(parsed.listeners[0].maxConnections == nil)
    }

    @Test func bothAreRead() throws {
        let parsed = try ConfigLoader.parse(config(listener: 100, limits: "5000"))
        #expect(parsed.limits.maxConnections == 5000)
        #expect(parsed.listeners[0].maxConnections == 100)
    }

    @Test func zeroIsRefusedWithFieldAndLine() {
        let found = problems(config(listener: 0, limits: "0"))
        #expect(found.count == 2, "\(found)")
        #expect(found.first?.hasPrefix("listeners[0].maxConnections: ") == true, "\(found)")
        #expect(found.first?.hasSuffix("(line 4)") == true, "\(found)")
        #expect(found.last?.hasPrefix("limits.maxConnections: ") == true, "\(found)")
        #expect(found.last?.hasSuffix("(line 5)") == true, "\(found)")
    }
}
