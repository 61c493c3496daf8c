// A loop's upstream side per config: each route's arms and split, and the endpoint pools they share, kept across reloads.
import Config
import Logging
import Telemetry

/// One pool per endpoint (keyed by `ResolvedEndpoint.poolKey`: address, protocol and TLS settings),
/// shared by every route and arm listing it, so its idle connections and ejections are the endpoint's;
/// a reload keeps the pools of endpoints that remain and retires the others.
final class UpstreamDirectory {
    /// By `CompiledRoute.index` of the installed snapshot.
    private(set) var routes: [RouteRuntime] = []
    private var poolsByKey: [String: UpstreamPool] = [:]

    /// Builds per-route state for `snapshot`, keeping the pools of endpoints that remain. The first route
    /// listing an endpoint sets its outlier detection; every arm listing it counts its ejections.
    /// `startProbes` starts an arm's health checks (none when the route has no `healthCheck`).
    func install(
        _ snapshot: ProxySnapshot, metrics: MetricsRegistry, loop: Int, log: Logger,
        startProbes: ([UpstreamPool], CompiledRoute) -> [HealthProbe]
    ) {
        let maxIdle = snapshot.config.limits.maxIdlePerEndpoint
        var pools: [String: UpstreamPool] = [:]
        func armPools(_ arm: CompiledArm, route: CompiledRoute, shard: ArmShard) -> [UpstreamPool] {
            arm.endpoints.map { e in
                let key = e.poolKey(arm.protocol)
                if let p = pools[key] {
                    if !p.ejectionShards.contains(where: { $0 === shard }) { p.ejectionShards.append(shard) }
                    return p
                }
                let p =
                    poolsByKey[key]
                    ?? UpstreamPool(address: e.address, configured: e.configured, protocolKind: arm.protocol, tls: e.tls, maxIdle: maxIdle)
                p.maxIdle = maxIdle
                p.tls = e.tls
                p.outlierPolicy = route.outlier
                p.ejectionShards = [shard]
                p.log = log
                pools[key] = p
                return p
            }
        }
        func arm(_ compiled: CompiledArm, route: CompiledRoute, shard: ArmShard) -> ArmRuntime {
            let pools = armPools(compiled, route: route, shard: shard)
            return ArmRuntime(pools: pools, outlier: route.outlier, retry: route.retry, probes: startProbes(pools, route))
        }
        // Each loop and route draws from its own seed, so no two splits pick the canary in step.
        var seeds = SystemRandomNumberGenerator()
        stopProbes()
        routes = snapshot.routes.byIndex.map { route in
            let primaryShard = metrics.shard(route: route.name, arm: .primary, loop: loop)
            let canaryShard = metrics.shard(route: route.name, arm: .canary, loop: loop)
            return RouteRuntime(
                split: WeightedSplit(seed: seeds.next()),
                primary: arm(route.primary, route: route, shard: primaryShard),
                canary: route.canary.map { arm($0, route: route, shard: canaryShard) },
                primaryShard: primaryShard, canaryShard: canaryShard,
                clients: route.affinity == nil ? nil : metrics.clientSketch(route: route.name, loop: loop))
        }
        for (key, old) in poolsByKey where pools[key] == nil { old.retire() }
        poolsByKey = pools
    }

    /// Picks the arm for a request of `route`, and an endpoint of it (`ArmRuntime.pick`: one always,
    /// ejected or not); the request counts as started on the arm's shard (in flight until its outcome).
    @inline(__always)
    func pick(route: CompiledRoute, now: UInt64) -> (arm: ArmRole, reason: ArmReason, pool: UpstreamPool, shard: ArmShard) {
        let i = route.index
        let weight = route.weight.weight
        let hasCanary = routes[i].canary != nil
        let canary = weight > 0 && hasCanary && routes[i].split.pickCanary(weight: weight)
        let shard = canary ? routes[i].canaryShard : routes[i].primaryShard
        #if !CANARYGATE_NO_METRICS
        shard.requestStarted()
        #endif
        let pool = canary ? routes[i].canary!.pick(now: now) : routes[i].primary.pick(now: now)
        return (canary ? .canary : .primary, ArmReason.forRoute(hasCanary: hasCanary, weight: weight), pool, shard)
    }

    /// `pick` for a request in `route`'s cohort while its canary is live (`CohortRules.admits`): the canary,
    /// outside the split (its blocks of 100 deal the rest of the route's requests). Only a route with a
    /// canary has cohort rules.
    func pickCohort(route: CompiledRoute, now: UInt64) -> (arm: ArmRole, reason: ArmReason, pool: UpstreamPool, shard: ArmShard) {
        let i = route.index
        let shard = routes[i].canaryShard
        #if !CANARYGATE_NO_METRICS
        shard.requestStarted()
        #endif
        return (.canary, .cohort, routes[i].canary!.pick(now: now), shard)
    }

    /// A fresh uniform position for a client of `route` (session affinity), from the route's generator.
    func drawPosition(route: CompiledRoute) -> UInt32 { routes[route.index].split.drawPosition() }

    /// The arm whose requests `shard` counts, in the config installed now (nil: the route is gone).
    /// A walk over the routes: on the failure path only.
    func arm(countedBy shard: ArmShard) -> ArmRuntime? {
        for route in routes {
            if route.primaryShard === shard { return route.primary }
            if route.canaryShard === shard { return route.canary }
        }
        return nil
    }

    /// The pools of `endpoints` (as configured), whatever their protocol and TLS settings.
    func pools(of endpoints: [HostPort]) -> [UpstreamPool] {
        poolsByKey.values.filter { endpoints.contains($0.configured) }
    }

    /// Closes every pool's idle connections (the loop stops; pools of a finished canary via `pools(of:)`).
    func closeAll() {
        for p in poolsByKey.values { p.closeAll() }
    }

    /// Ends every arm's health checks (a reload replaces the arms, or the loop stops).
    func stopProbes() {
        for route in routes {
            route.primary.stopProbes()
            route.canary?.stopProbes()
        }
    }
}
