// The arm of a request on a route with session affinity that is not in the route's cohort: the client's position.
import HTTP
import Telemetry

extension ProxyLoop {
    /// `route(_:client:)` for a route with `sessionAffinity`, once the request is known not to be in its
    /// cohort (which goes to the canary by its rule and leaves the client's cookie alone: a cohort is who
    /// the rule says, not a share of clients): it goes where its client's position puts it
    /// (`SessionAffinityRules`).
    func routeSticky(_ request: RequestView, route: CompiledRoute, affinity: SessionAffinityRules) -> RouteDecision {
        let upstreams = self.upstreams
        let choice = affinity.choose(request, weight: route.weight.weight) { upstreams.drawPosition(route: route) }
        let pick = upstreams.pickSticky(route: route, choice: choice, now: loop.now)
        return RouteDecision(route: route, arm: choice.arm, reason: .sticky, pool: pick.pool, shard: pick.shard, cookie: choice.cookie)
    }
}

extension UpstreamDirectory {
    /// Starts the request on the arm `choice` gives, counting its client in the route's sketch.
    func pickSticky(route: CompiledRoute, choice: StickyChoice, now: UInt64) -> (pool: UpstreamPool, shard: ArmShard) {
        // Indexed each time, not copied: a copy of the runtime retains each of its references.
        let i = route.index
        let canary = choice.arm == .canary
        let shard = canary ? routes[i].canaryShard : routes[i].primaryShard
        #if !CANARYGATE_NO_METRICS
        shard.requestStarted()
        routes[i].clients?.note(position: choice.position, canary: canary, now: now)
        #endif
        // Rules exist only for a route with a canary, so the canary arm does too.
        return (canary ? routes[i].canary!.pick(now: now) : routes[i].primary.pick(now: now), shard)
    }
}
