// Every route's counters at one moment, and the difference between two such moments.

/// Both arms of one route.
public struct RouteSnapshot: Sendable, Equatable {
    public var name: String
    public var primary: ArmSnapshot
    public var canary: ArmSnapshot

    public init(name: String, primary: ArmSnapshot = ArmSnapshot(), canary: ArmSnapshot = ArmSnapshot()) {
        self.name = name
        self.primary = primary
        self.canary = canary
    }

    /// One arm by its enum value (the renderer and the analysis iterate over `Arm.allCases`).
    public subscript(arm: Arm) -> ArmSnapshot {
        get { arm == .primary ? primary : canary }
        set { if arm == .primary { primary = newValue } else { canary = newValue } }
    }

    /// What happened to both arms after `earlier` was taken.
    public func delta(since earlier: RouteSnapshot) -> RouteSnapshot {
        RouteSnapshot(name: name, primary: primary.delta(since: earlier.primary), canary: canary.delta(since: earlier.canary))
    }
}

/// Every route known to a `MetricsRegistry`, sorted by name.
public struct MetricsSnapshot: Sendable, Equatable {
    public var routes: [RouteSnapshot]

    public init(routes: [RouteSnapshot] = []) {
        self.routes = routes
    }

    /// The route called `name`, if the registry had it.
    public func route(named name: String) -> RouteSnapshot? {
        routes.first { $0.name == name }
    }

    /// What happened after `earlier` was taken, route by route (matched by name); a route that
    /// `earlier` did not have yet counts from zero.
    public func delta(since earlier: MetricsSnapshot) -> MetricsSnapshot {
        let before = Dictionary(earlier.routes.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        return MetricsSnapshot(
            routes: routes.map { route in
                before[route.name].map { route.delta(since: $0) } ?? route
            })
    }
}
