// `listeners[].balance`: how accepted connections spread over the loops; `connections` by default, anything else refused.
import Config
import Testing

@Suite struct ListenerBalanceTests {
    private func config(_ balance: String?) -> String {
        """
        listeners:
          - name: http
            address: 127.0.0.1:8080
        \(balance.map { "    balance: \($0)" } ?? "")
        routes:
          - name: web
            primary: { revision: v1, endpoints: ["127.0.0.1:9001"] }
        """
    }

    @Test func connectionsByDefault() throws {
        #expect(try ConfigLoader.parse(config(nil)).listeners[0].balance == .connections)
    }

    @Test func bothValuesAreRead() throws {
        #expect(try ConfigLoader.parse(config("kernel")).listeners[0].balance == .kernel)
        #expect(try ConfigLoader.parse(config("connections")).listeners[0].balance == .connections)
    }

    @Test func anUnknownValueIsRefusedWithFieldAndLine() {
        #expect(
            problems(config("roundrobin"))
                == [#"listeners[0].balance: "roundrobin" is not a balance; expected connections or kernel (line 4)"#])
        #expect(problems(config("[kernel]")) == ["listeners[0].balance: expected connections or kernel (line 4)"])
    }
}
