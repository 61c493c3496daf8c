// The top-level `tracing` section: defaults, every field decoded, and each error with its path and line.
import Config
import Testing

@Suite struct TracingConfigTests {
    /// `minimalConfig` plus `tracing:` (line 9) holding `body` from line 10.
    private func config(_ body: String...) -> String {
        minimalConfig + "tracing:\n" + body.map { "  " + $0 }.joined(separator: "\n") + "\n"
    }

    private func decoded(_ body: String...) throws -> TracingConfig {
        try ConfigLoader.parse(minimalConfig + "tracing:\n" + body.map { "  " + $0 }.joined(separator: "\n") + "\n").tracing
    }

    @Test func absentStartsTracesWithoutTheArmHeader() throws {
        let t = try ConfigLoader.parse(minimalConfig).tracing
        #expect(t.traceparent == .start && !t.armHeader && t.armHeaderName == "x-canarygate-arm")
        #expect(try decoded("armHeader: false") == TracingConfig())
    }

    @Test func everyFieldIsDecoded() throws {
        let t = try decoded("traceparent: pass", "armHeader: true", "armHeaderName: X-Served-By")
        #expect(t.traceparent == .pass && t.armHeader)
        // Stored lower-cased: HTTP/2 field names are, and the upstream's own field is matched that way.
        #expect(t.armHeaderName == "x-served-by")
    }

    @Test func traceparentIsPassOrStart() {
        #expect(
            problems(config("traceparent: always")) == [
                "tracing.traceparent: \"always\" is not a traceparent mode; expected pass or start (line 10)"
            ])
    }

    @Test func armHeaderIsABoolean() {
        #expect(problems(config("armHeader: maybe")).count == 1)
        #expect(problems(config("armHeader: maybe")).first?.hasPrefix("tracing.armHeader: ") == true)
    }

    @Test func armHeaderNameIsATokenTheProxyDoesNotManage() {
        #expect(
            problems(config("armHeader: true", "armHeaderName: \"x arm\"")) == [
                "tracing.armHeaderName: \"x arm\" is not a field name (letters, digits and !#$%&'*+-.^_`|~ only) (line 11)"
            ])
        #expect(
            problems(config("armHeaderName: Content-Length")) == [
                "tracing.armHeaderName: \"Content-Length\" is a field the proxy or HTTP manages; choose another name (line 10)"
            ])
        #expect(
            problems(config("armHeaderName: traceparent")) == [
                "tracing.armHeaderName: \"traceparent\" is a field the proxy or HTTP manages; choose another name (line 10)"
            ])
    }

    @Test func unknownKeysAreRefused() {
        #expect(problems(config("sampled: true")) == ["tracing.sampled: unknown key (line 10)"])
        #expect(problems(minimalConfig + "tracing: start\n") == ["tracing: expected a mapping (line 9)"])
    }
}
