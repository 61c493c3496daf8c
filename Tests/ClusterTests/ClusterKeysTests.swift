// The fleet's key layout: what each replica watches, and prefix range ends.
import Cluster
import Testing

@Suite struct ClusterKeysTests {
    @Test func controlHoldsTheLeaderAndTheStateButNoRecord() {
        let keys = ClusterKeys(fleet: "shop")
        #expect(keys.leader == "/canarygate/shop/control/leader")
        #expect(keys.state.hasPrefix(keys.control) && keys.leader.hasPrefix(keys.control))
        #expect(!keys.replica("a").hasPrefix(keys.control))
        #expect(keys.replica("a").hasPrefix(keys.fleet) && keys.command(from: "a", id: "7-1").hasPrefix(keys.fleet))
        #expect(!keys.answer(to: "a", id: "7-1").hasPrefix(keys.fleet))
        #expect(keys.replicaName(of: keys.replica("ingress-1")) == "ingress-1")
        #expect(keys.replicaName(of: keys.state) == nil)
    }

    @Test func rangeEndIncrementsTheLastByte() {
        #expect(ClusterKeys.rangeEnd(ofPrefix: "/a/") == Array("/a0".utf8))
        #expect(ClusterKeys.rangeEnd(ofPrefix: "ab") == Array("ac".utf8))
        #expect(ClusterKeys.rangeEnd(ofPrefix: "") == [0])
    }
}
