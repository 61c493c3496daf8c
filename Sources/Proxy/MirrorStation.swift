// A loop's mirroring: per route its rules, share, slot pool and counters, and the one call an exchange makes to start a mirror.
import HTTP
import Telemetry

/// One route's mirroring on one loop.
final class MirrorLane {
    let rules: MirrorRules
    /// The canary arm's shard: mirrored responses are counted there as canary traffic, with the mirror counters.
    let shard: ArmShard
    let canary: ArmRuntime
    var share = MirrorShare()
    var slots: MirrorSlotPool<MirrorSlot>
    /// A reload replaced the lane: slots still in flight finish and are let go instead of kept.
    private(set) var retired = false

    init(rules: MirrorRules, shard: ArmShard, canary: ArmRuntime) {
        self.rules = rules
        self.shard = shard
        self.canary = canary
        slots = MirrorSlotPool(limit: rules.maxInFlight)
    }

    func giveBack(_ slot: MirrorSlot) {
        if retired { slot.leaveLane() } else { slots.give(slot) }
    }

    /// Lets go of the free slots (each holds its lane: a cycle, broken here).
    func retire() {
        retired = true
        while let slot = slots.takeFree() { slot.leaveLane() }
    }
}

/// The lanes of the routes with a mirror, by route index, rebuilt with each config the loop installs.
final class MirrorStation {
    private(set) var lanes: [MirrorLane?] = []

    func install(routes: [CompiledRoute], runtimes: [RouteRuntime]) {
        for lane in lanes { lane?.retire() }
        lanes = zip(routes, runtimes).map { route, runtime in
            guard let rules = route.mirror, let canary = runtime.canary else { return nil }
            return MirrorLane(rules: rules, shard: runtime.canaryShard, canary: canary)
        }
    }
}

extension ProxyLoop {
    /// A request of a route with `rules` was routed to `arm`: the slot its copy goes out in, or nil when it
    /// is not mirrored. Mirrored are requests the primary serves while the canary is live, eligible
    /// (`MirrorRules.isEligible`), within the mirror's share; one whose body is not wholly in hand (or too
    /// large) is counted `skipped`, one finding no free slot `dropped`. `head` is the request head as
    /// rewritten for the upstream, `source` the client's bytes (the head, then what followed it).
    func startMirror(
        _ rules: MirrorRules, route: CompiledRoute, arm: ArmRole, request: inout RequestHead, source: UnsafeRawBufferPointer,
        head: UnsafeRawBufferPointer, startedAt: UInt64
    ) -> MirrorSlot? {
        guard arm == .primary, route.canaryIsLive, route.index < mirrors.lanes.count, let lane = mirrors.lanes[route.index],
            lane.rules === rules
        else { return nil }
        guard request.withView(source: source, { rules.isEligible($0) }), lane.share.take(weight: rules.weight) else { return nil }
        let afterHead = UnsafeRawBufferPointer(rebasing: source[request.headLength...])
        guard let body = MirrorRequestBody.inHand(framing: request.framing, afterHead: afterHead, maxBytes: rules.maxBodyBytes) else {
            lane.shard.recordMirror(.skipped)
            return nil
        }
        guard let slot = lane.slots.take({ MirrorSlot(proxy: self, lane: lane) }) else {
            lane.shard.recordMirror(.dropped)
            return nil
        }
        slot.start(head: head, body: body, method: request.method, startedAt: startedAt)
        return slot
    }
}
