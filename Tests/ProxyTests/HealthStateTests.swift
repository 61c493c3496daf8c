// Active health: `fall` failed probes in a row take an endpoint out, `rise` passes bring it back; status lines judged.
import Testing
@testable import Proxy

@Suite struct HealthStateTests {
    @Test func fallFailuresInARowTakeItOutAndRisePassesBringItBack() {
        var state = HealthState()
        #expect(state.healthy)
        #expect(state.record(passed: false, rise: 2, fall: 3) == .none)
        #expect(state.record(passed: false, rise: 2, fall: 3) == .none)
        // A pass in between starts the count again.
        #expect(state.record(passed: true, rise: 2, fall: 3) == .none)
        #expect(state.record(passed: false, rise: 2, fall: 3) == .none)
        #expect(state.record(passed: false, rise: 2, fall: 3) == .none)
        #expect(state.record(passed: false, rise: 2, fall: 3) == .becameUnhealthy)
        #expect(!state.healthy)
        #expect(state.record(passed: false, rise: 2, fall: 3) == .none)
        #expect(state.record(passed: true, rise: 2, fall: 3) == .none)
        #expect(state.record(passed: false, rise: 2, fall: 3) == .none)
        #expect(state.record(passed: true, rise: 2, fall: 3) == .none)
        #expect(state.record(passed: true, rise: 2, fall: 3) == .becameHealthy)
        #expect(state.healthy)
    }

    @Test func statusLinesOf2xxAnd3xxPass() {
        #expect(HealthProbe.passes(Array("HTTP/1.1 200 OK\r\n".utf8)))
        #expect(HealthProbe.passes(Array("HTTP/1.0 302 Found".utf8)))
        #expect(!HealthProbe.passes(Array("HTTP/1.1 503 Service Unavailable".utf8)))
        #expect(!HealthProbe.passes(Array("HTTP/1.1 404 x".utf8)))
        #expect(!HealthProbe.passes(Array("HTTP/1.1 2x0 x".utf8)))
        #expect(!HealthProbe.passes(Array("SSH-2.0-OpenSSH".utf8)))
        #expect(!HealthProbe.passes(Array("HTTP/1.1 20".utf8)))
    }
}
