// A verb left for the leader in etcd: its JSON value round-trips, and anything else is refused.
import Testing

@testable import Cluster

@Suite struct ForwardedCommandTests {
    @Test func aCommandRoundTrips() {
        let bytes = ForwardedCommand.encode(route: "web", verb: "promote --force", lease: 7_587_870_000_123, answerKey: "/a/answers/b/3")
        let command = ForwardedCommand.decode(key: "/a/fleet/commands/b/3", value: bytes)
        #expect(
            command
                == ForwardedCommand(
                    key: "/a/fleet/commands/b/3", answerKey: "/a/answers/b/3", route: "web", verb: "promote --force",
                    lease: 7_587_870_000_123))
    }

    @Test func somethingElseIsNotACommand() {
        #expect(ForwardedCommand.decode(key: "k", value: Array("{}".utf8)) == nil)
        #expect(ForwardedCommand.decode(key: "k", value: Array("not json".utf8)) == nil)
        #expect(ForwardedCommand.decode(key: "k", value: Array(#"{"route":"web","verb":"abort","lease":"x","answer":"a"}"#.utf8)) == nil)
    }
}
