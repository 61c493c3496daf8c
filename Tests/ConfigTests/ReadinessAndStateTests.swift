// `analysis.readiness` (HTTP path or TCP connect) and the top-level `state` file.
import Config
import Testing

@Suite struct ReadinessAndStateTests {
    @Test func readinessProbes() throws {
        let http = try analysis("readiness: { http: /healthz, interval: 1s, timeout: 1s }").readiness
        #expect(http.probe == .http(path: "/healthz"))
        #expect(http.interval == .seconds(1) && http.timeout == .seconds(1))
        #expect(try analysis("readiness: { tcp: true }").readiness == ReadinessConfig())
        let timed = try analysis("readiness: { interval: 250ms, timeout: 100ms }").readiness
        #expect(timed.probe == .tcp)
        #expect(timed.interval == .milliseconds(250) && timed.timeout == .milliseconds(100))
    }

    @Test func readinessProblems() {
        #expect(
            problems(withAnalysis("readiness: { http: /healthz, tcp: true }")) == [
                "routes[0].analysis.readiness.tcp: cannot be combined with http; write one of them (line 11)"
            ])
        #expect(
            problems(
                withAnalysis(
                    """
                    readiness:
                      tcp: false
                      interval: 0s
                      timeout: soon
                    """)) == [
                    "routes[0].analysis.readiness.tcp: only true is accepted; to check over HTTP write http: and a path instead (line 12)",
                    #"routes[0].analysis.readiness.interval: "0s" must be greater than 0 (line 13)"#,
                    #"routes[0].analysis.readiness.timeout: "soon" is not a duration like "2s" or "500ms" (line 14)"#,
                ])
        #expect(
            problems(withAnalysis("readiness: { http: healthz }")) == [
                #"routes[0].analysis.readiness.http: "healthz" must start with "/" (line 11)"#
            ])
        #expect(
            problems(withAnalysis(#"readiness: { http: "/health z" }"#)) == [
                #"routes[0].analysis.readiness.http: "/health z" may contain only visible ASCII characters, no spaces (line 11)"#
            ])
        #expect(
            problems(withAnalysis("readiness: { http: [/healthz] }")) == [
                #"routes[0].analysis.readiness.http: expected a path like "/healthz" (line 11)"#
            ])
    }

    @Test func stateFile() throws {
        #expect(
            try ConfigLoader.parse(minimalConfig + "state:\n  path: /tmp/cg/state.json\n").state
                == StateConfig(path: "/tmp/cg/state.json"))
        #expect(try ConfigLoader.parse(minimalConfig + "state:\n").state == nil)
        #expect(problems(minimalConfig + "state: {}\n") == ["state.path: required (line 9)"])
        #expect(problems(minimalConfig + "state: /var/lib/canarygate/state.json\n") == ["state: expected a mapping (line 9)"])
        #expect(
            problems(minimalConfig + "state:\n  path: /var/lib/canarygate/\n  file: x\n") == [
                #"state.path: "/var/lib/canarygate/" is a directory; name the state file (line 10)"#,
                "state.file: unknown key (line 11)",
            ])
    }
}
