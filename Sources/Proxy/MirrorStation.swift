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
    /// is not mirrored. Mirrored are requests the primary serves while the canary is live, `eligible`
    /// (`MirrorRules.isEligible` on the request's view), within the mirror's share; one whose `body` is not
    /// in hand (nil: not wholly arrived, or larger than `maxBodyBytes`) is counted `skipped`, one finding no
    /// free slot `dropped`. `head` is the request head as written for the upstream. Both protocols call it
    /// once per request of a mirrored route, after routing.
    func startMirror(
        _ rules: MirrorRules, route: CompiledRoute, arm: ArmRole, method: HTTPMethod, head: UnsafeRawBufferPointer, startedAt: UInt64,
        eligible: () -> Bool, body: () -> UnsafeRawBufferPointer?
    ) -> MirrorSlot? {
        guard arm == .primary, route.canaryIsLive, route.index < mirrors.lanes.count, let lane = mirrors.lanes[route.index],
            lane.rules === rules
        else { return nil }
        guard eligible(), lane.share.take(weight: rules.weight) else { return nil }
        guard let body = body() else {
            lane.shard.recordMirror(.skipped)
            return nil
        }
        guard let slot = lane.slots.take({ MirrorSlot(proxy: self, lane: lane) }) else {
            lane.shard.recordMirror(.dropped)
            return nil
        }
        slot.start(head: head, body: body, method: method, startedAt: startedAt)
        return slot
    }
}

extension ClientConnection {
    /// `ProxyLoop.startMirror` for the HTTP/1.1 request in flight: its body is what followed its head in `source`.
    func startMirror(
        _ rules: MirrorRules, _ decision: RouteDecision, _ exchange: H1Exchange, source: UnsafeRawBufferPointer,
        head: UnsafeRawBufferPointer
    )
        -> MirrorSlot?
    {
        let headLength = exchange.request.headLength
        let framing = exchange.request.framing
        return proxy.startMirror(
            rules, route: decision.route, arm: decision.arm, method: exchange.request.method, head: head, startedAt: proxy.loop.now,
            eligible: { exchange.request.withView(source: source) { rules.isEligible($0) } },
            body: {
                MirrorRequestBody.inHand(
                    framing: framing, afterHead: UnsafeRawBufferPointer(rebasing: source[headLength...]), maxBytes: rules.maxBodyBytes)
            })
    }
}

extension H2Stream {
    /// `ProxyLoop.startMirror` for the stream's request: only a request without a body is copied (an HTTP/2
    /// body arrives in DATA frames after routing, not in hand yet).
    func startMirror(
        _ rules: MirrorRules, _ decision: RouteDecision, source: UnsafeRawBufferPointer, head: UnsafeRawBufferPointer
    )
        -> MirrorSlot?
    {
        let bodiless = request.isBodiless
        return proxy.startMirror(
            rules, route: decision.route, arm: decision.arm, method: request.fields.method, head: head, startedAt: proxy.loop.now,
            eligible: { request.withView(source: source) { rules.isEligible($0) } },
            body: { bodiless ? UnsafeRawBufferPointer(start: nil, count: 0) : nil })
    }
}
