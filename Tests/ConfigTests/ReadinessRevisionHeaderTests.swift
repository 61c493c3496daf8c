// `analysis.readiness.revisionHeader`: the header an endpoint names its revision in, for the wait after a promote hook.
import Config
import Testing

@Suite struct ReadinessRevisionHeaderTests {
    @Test func absentByDefaultAndReadWithAnHttpProbe() throws {
        #expect(try analysis("readiness: { http: /healthz }").readiness.revisionHeader == nil)
        #expect(try analysis("readiness: { http: /healthz, revisionHeader: X-Revision }").readiness.revisionHeader == "X-Revision")
    }

    @Test func aTcpProbeHasNoHeaders() {
        #expect(
            problems(withAnalysis("readiness: { revisionHeader: X-Revision }")) == [
                "routes[0].analysis.readiness.revisionHeader: needs an http probe: a TCP connect has no headers (line 11)"
            ])
        #expect(
            problems(withAnalysis("readiness: { tcp: true, revisionHeader: X-Revision }")) == [
                "routes[0].analysis.readiness.revisionHeader: needs an http probe: a TCP connect has no headers (line 11)"
            ])
    }

    @Test(arguments: [#""X Revision""#, #""X-Revision:""#, #""""#, "[X-Revision]"])
    func notAHeaderName(written: String) {
        let message = written.hasPrefix("[") ? "expected a header name like X-Revision" : "\(written) is not a header name"
        #expect(
            problems(withAnalysis("readiness: { http: /healthz, revisionHeader: \(written) }")) == [
                "routes[0].analysis.readiness.revisionHeader: \(message) (line 11)"
            ])
    }
}
