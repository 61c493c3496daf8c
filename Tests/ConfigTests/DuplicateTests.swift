// Names, listener addresses and route matches must be unique; the repeat names the original.
import Config
import Testing

@Suite struct DuplicateTests {
    @Test func listenerNamesAndAddresses() {
        #expect(
            problems(
                """
                listeners:
                  - name: http
                    address: 0.0.0.0:8080
                  - name: http
                    address: 0.0.0.0:8081
                  - name: other
                    address: 0.0.0.0:8080
                routes:
                  - name: web
                    primary: { revision: v1, endpoints: ["127.0.0.1:9001"] }
                """) == [
                    #"listeners[1].name: "http" duplicates listeners[0].name (line 4)"#,
                    "listeners[2].address: 0.0.0.0:8080 duplicates listeners[0].address (line 7)",
                ])
    }

    @Test func routeNames() {
        #expect(
            problems(
                """
                listeners: [{ name: http, address: 0.0.0.0:8080 }]
                routes:
                  - name: web
                    match: { pathPrefix: /a }
                    primary: { revision: v1, endpoints: ["127.0.0.1:9001"] }
                  - name: web
                    match: { pathPrefix: /b }
                    primary: { revision: v1, endpoints: ["127.0.0.1:9001"] }
                """) == [#"routes[1].name: "web" duplicates routes[0].name (line 6)"#])
    }

    @Test func routeMatchesIncludingTheDefaultOne() {
        #expect(
            problems(
                """
                listeners: [{ name: http, address: 0.0.0.0:8080 }]
                routes:
                  - name: a
                    primary: { revision: v1, endpoints: ["127.0.0.1:9001"] }
                  - name: b
                    match: { pathPrefix: / }
                    primary: { revision: v1, endpoints: ["127.0.0.1:9001"] }
                  - name: c
                    match: { host: Example.com }
                    primary: { revision: v1, endpoints: ["127.0.0.1:9001"] }
                  - name: d
                    match:
                      host: example.COM
                    primary: { revision: v1, endpoints: ["127.0.0.1:9001"] }
                  - name: e
                    match: { host: example.com, pathPrefix: /api }
                    primary: { revision: v1, endpoints: ["127.0.0.1:9001"] }
                """) == [
                    "routes[1].match: duplicates routes[0].match (line 6)",
                    "routes[3].match: duplicates routes[2].match (line 13)",
                ])
    }

    @Test func anInvalidMatchIsNotAlsoADuplicate() {
        #expect(
            problems(
                """
                listeners: [{ name: http, address: 0.0.0.0:8080 }]
                routes:
                  - name: a
                    primary: { revision: v1, endpoints: ["127.0.0.1:9001"] }
                  - name: b
                    match: { host: "bad host" }
                    primary: { revision: v1, endpoints: ["127.0.0.1:9001"] }
                """) == [#"routes[1].match.host: "bad host" is not a host name or "*." followed by one (line 6)"#])
    }
}
