// Where a request goes, decided once for both protocols: its route, its arm and why, and the endpoint.
import HTTP
import Telemetry

/// Which arm of its route a request was given.
enum ArmRole: Sendable, Equatable {
    case primary, canary
}

/// Why a request got its arm. (A mirrored copy is not a request's arm: it follows the primary's.)
enum ArmReason: Sendable, Equatable {
    /// The request matched the route's `canary.match` while the canary was live (`CohortRules`).
    case cohort
    /// The route has no canary, or the canary's weight is 0: the primary serves every request.
    case onlyArm
    /// The weighted split drew the arm (`WeightedSplit`).
    case split
    /// The client's session-affinity position gave the arm (`SessionAffinityRules`).
    case sticky

    /// The reason a route with `hasCanary` at `weight` percent gives its arm.
    static func forRoute(hasCanary: Bool, weight: Int) -> ArmReason {
        hasCanary && weight > 0 ? .split : .onlyArm
    }
}

/// The decision for one request: taken once, when its head is complete, and kept by its exchange.
/// The request counts as started on `shard` from here until its outcome is recorded there.
struct RouteDecision {
    /// Not retained: the snapshot the exchange holds keeps its routes alive (a retain and a release a
    /// request otherwise, measured).
    unowned(unsafe) let route: CompiledRoute
    let arm: ArmRole
    let reason: ArmReason
    /// The endpoint's pool: every attempt of the request stays within `arm` (see ProxyLoop+Retry.swift).
    let pool: UpstreamPool
    let shard: ArmShard
    /// The Set-Cookie the response owes (routes with `sessionAffinity` only).
    var cookie: CookieDue? = nil
}

/// The client protocol a request arrived over, where it changes what can be relayed.
enum ClientProtocol: Sendable, Equatable {
    case http1, http2
}

enum Routing {
    case routed(RouteDecision)
    /// The proxy answers the request itself with this failure (never counted against an arm).
    case refused(ProxyFailure)
}

extension ProxyLoop {
    /// The one place a request is routed: the route its authority and path match (most specific
    /// first, `RouteTable.match`), then whether it is in the route's cohort (`CohortRules`), then its arm
    /// and endpoint (`pickArm`). An HTTP/1.1 request for a route with an HTTP/2 arm is relayed
    /// (ClientConnection+H2Upstream.swift), except gRPC, which needs HTTP/2 end to end (505).
    @inline(__always)
    func route(_ request: RequestView, client: ClientProtocol) -> Routing {
        guard let route = snapshot.routes.match(host: request.authority, path: request.path) else { return .refused(.noRoute) }
        if client == .http1 && route.speaksOnlyHTTP2 && request.isGRPC { return .refused(.needsHTTP2) }
        // A route without cohort rules or session affinity pays two tests of a nil reference, and picks as
        // it always did. The cohort comes first, on sticky routes too.
        let pick: (arm: ArmRole, reason: ArmReason, pool: UpstreamPool, shard: ArmShard)
        if let cohort = route.cohort, cohort.admits(request, route: route) {
            pick = upstreams.pickCohort(route: route, now: loop.now)
        } else if let affinity = route.affinity {
            return .routed(routeSticky(request, route: route, affinity: affinity))
        } else {
            pick = pickArm(route: route)
        }
        return .routed(RouteDecision(route: route, arm: pick.arm, reason: pick.reason, pool: pick.pool, shard: pick.shard))
    }
}
