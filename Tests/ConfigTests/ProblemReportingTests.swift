// Every kind of problem is reported with its path, exact message and line, all of them together.
import Config
import Testing

@Suite struct ProblemReportingTests {
    @Test func weightOutOfRangeNamesPathValueAndLine() {
        #expect(
            problems(
                """
                threads: 2
                admin:
                  address: 127.0.0.1:9901
                listeners:
                  - name: http
                    address: 0.0.0.0:8080
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
                      weight: 150
                """) == ["routes[0].canary.weight: 150 is not in 0...100 (line 17)"])
    }

    @Test func unknownKeysAtEveryLevel() {
        #expect(
            problems(
                """
                threads: 2
                tread: 2
                admin:
                  adress: 127.0.0.1:9901
                listeners:
                  - name: http
                    address: 0.0.0.0:8080
                    port: 8080
                timeouts:
                  connect: 2s
                limits:
                  maxHeaders: 100
                routes:
                  - name: web
                    match:
                      path: /api
                    primary:
                      revision: v1
                      endpoints: ["127.0.0.1:9001"]
                      weight: 100
                    canary:
                      revision: v2
                      endpoints: ["127.0.0.1:9002"]
                      wieght: 5
                    primray: {}
                """) == [
                    "tread: unknown key (line 2)",
                    "admin.adress: unknown key (line 4)",
                    "listeners[0].port: unknown key (line 8)",
                    "timeouts.connect: unknown key (line 10)",
                    "limits.maxHeaders: unknown key (line 12)",
                    "routes[0].match.path: unknown key (line 16)",
                    "routes[0].primary.weight: unknown key (line 20)",
                    "routes[0].canary.wieght: unknown key (line 24)",
                    "routes[0].primray: unknown key (line 25)",
                ])
    }

    @Test func requiredFieldsAreNamedAtTheirParentsLine() {
        #expect(
            problems(
                """
                listeners:
                  - address: 0.0.0.0:8080
                routes:
                  - name: web
                    primray:
                      revision: v1
                      endpoints: ["127.0.0.1:9001"]
                    canary:
                      endpoints: ["127.0.0.1:9002"]
                """) == [
                    "listeners[0].name: required (line 2)",
                    "routes[0].primary: required (line 4)",
                    "routes[0].primray: unknown key (line 5)",
                    "routes[0].canary.revision: required (line 9)",
                ])
        #expect(problems("admin: {}\n") == ["listeners: required (line 1)", "routes: required (line 1)"])
    }

    @Test func anEmptyRequiredValueIsReportedAtItsKey() {
        #expect(
            problems(
                """
                listeners:
                  - name: http
                    address:
                routes:
                  - name: web
                    primary: { revision: v1, endpoints: ["127.0.0.1:9001"] }
                """) == ["listeners[0].address: required (line 3)"])
    }

    @Test func wrongTypesAreNamed() {
        #expect(
            problems(
                """
                threads: many
                admin: 127.0.0.1:9901
                listeners:
                  - name: [http]
                    address: { host: 0.0.0.0, port: 8080 }
                timeouts:
                  idle: [60s]
                limits:
                  maxHeaderCount: {}
                routes:
                  - name: web
                    match: /
                    primary:
                      revision: v1
                      endpoints: 127.0.0.1:9001
                    canary: [v2]
                """) == [
                    #"threads: expected an integer in 1...256, found "many" (line 1)"#,
                    "admin: expected a mapping (line 2)",
                    "listeners[0].name: expected a string (line 4)",
                    #"listeners[0].address: expected a string like "127.0.0.1:8080" (line 5)"#,
                    #"timeouts.idle: expected a duration like "2s" or "500ms" (line 7)"#,
                    "limits.maxHeaderCount: expected an integer in 1...10000 (line 9)",
                    "routes[0].match: expected a mapping (line 12)",
                    "routes[0].primary.endpoints: expected a list (line 15)",
                    "routes[0].canary: expected a mapping (line 16)",
                ])
        #expect(
            problems("listeners: http\nroutes: {}\n") == [
                "listeners: expected a list (line 1)",
                "routes: expected a list (line 2)",
            ])
        #expect(problems("- listeners\n") == ["expected a mapping (line 1)"])
        #expect(
            problems("{ 1: 2, [a]: b }\n") == [
                "keys must be strings (line 1)",
                "listeners: required (line 1)",
                "routes: required (line 1)",
                "1: unknown key (line 1)",
            ])
    }

    @Test func emptyListsAndStrings() {
        #expect(
            problems(
                """
                listeners: []
                routes:
                  - name: ""
                    primary:
                      revision: ""
                      endpoints: []
                """) == [
                    "listeners: needs at least one entry (line 1)",
                    "routes[0].name: must not be empty (line 3)",
                    "routes[0].primary.revision: must not be empty (line 5)",
                    "routes[0].primary.endpoints: needs at least one entry (line 6)",
                ])
    }

    @Test func rangesOfNumbers() {
        #expect(
            problems(
                minimalConfig + """
                    threads: 0
                    limits:
                      maxHeaderBytes: 1023
                      maxHeaderCount: 10001
                      maxIdlePerEndpoint: -1
                      requestBuffer: 1048577
                    """) == [
                    "threads: 0 is not in 1...256 (line 9)",
                    "limits.maxHeaderBytes: 1023 is not in 1024...1048576 (line 11)",
                    "limits.maxHeaderCount: 10001 is not in 1...10000 (line 12)",
                    "limits.maxIdlePerEndpoint: -1 is not in 0...10000 (line 13)",
                    "limits.requestBuffer: 1048577 is not in 0...1048576 (line 14)",
                ])
        #expect(problems(minimalConfig + "threads: 257\n") == ["threads: 257 is not in 1...256 (line 9)"])
        #expect(
            problems(minimalConfig + "threads: 2.5\n") == [
                #"threads: expected an integer in 1...256, found "2.5" (line 9)"#
            ])
    }

    @Test func routeNamesHostsAndPrefixes() {
        #expect(
            problems(
                """
                listeners: [{ name: http, address: 0.0.0.0:8080 }]
                routes:
                  - name: my route
                    match: { host: "*example.com", pathPrefix: api }
                    primary: { revision: v1, endpoints: ["127.0.0.1:9001"] }
                  - name: other
                    match: { host: "a..b" }
                    primary: { revision: v1, endpoints: ["127.0.0.1:9001"] }
                """) == [
                    #"routes[0].name: "my route" may contain only letters, digits, "_", "." and "-" (line 3)"#,
                    #"routes[0].match.host: "*example.com" is not a host name or "*." followed by one (line 4)"#,
                    #"routes[0].match.pathPrefix: "api" must start with "/" (line 4)"#,
                    #"routes[1].match.host: "a..b" is not a host name or "*." followed by one (line 7)"#,
                ])
    }

    @Test func manyProblemsAreReportedTogetherInFileOrder() throws {
        let yaml = """
            listeners:
              - name: http
                address: 0.0.0.0
            timeouts:
              idle: 0s
            routes:
              - name: web
                primary:
                  revision: v1
                  endpoints: ["127.0.0.1:99999"]
                canary:
                  revision: v2
                  endpoints: ["127.0.0.1:9002"]
                  weight: 101
                canery: {}
            """
        let expected = [
            #"listeners[0].address: "0.0.0.0" has no port; expected host:port like "127.0.0.1:8080" or "[::1]:8080" (line 3)"#,
            #"timeouts.idle: "0s" must be greater than 0 (line 5)"#,
            "routes[0].primary.endpoints[0]: port 99999 is not in 1...65535 (line 10)",
            "routes[0].canary.weight: 101 is not in 0...100 (line 14)",
            "routes[0].canery: unknown key (line 15)",
        ]
        #expect(problems(yaml) == expected)
        let error = try #require(throws: ConfigError.self) { try ConfigLoader.parse(yaml) }
        #expect(error.description == expected.joined(separator: "\n"))
        #expect(error.problems[3] == ConfigProblem(path: "routes[0].canary.weight", line: 14, message: "101 is not in 0...100"))
    }
}
