// timeouts.tunnel: the idle limit of a tunnel (after a 101 or an HTTP/2 extended CONNECT), one hour unless set.
import Config
import Testing

@Suite struct TunnelTimeoutTests {
    @Test func defaultsToOneHour() throws {
        #expect(try ConfigLoader.parse(minimalConfig).timeouts.tunnel == .seconds(3600))
    }

    @Test func isReadFromTimeouts() throws {
        #expect(try ConfigLoader.parse(minimalConfig + "timeouts:\n  tunnel: 300ms\n").timeouts.tunnel == .milliseconds(300))
    }

    /// Line 10: the key's line after the minimal config's nine.
    @Test func anInvalidValueNamesTheFieldAndLine() {
        #expect(problems(minimalConfig + "timeouts:\n  tunnel: 0s\n") == [#"timeouts.tunnel: "0s" must be greater than 0 (line 10)"#])
    }
}
