// An undo's overrides: routes whose primary traffic goes to other endpoints than the config's, applied at compile time.
import Config

extension [RouteConfig] {
    /// The routes with each named route's primary replaced. They are compiled into the route table like any
    /// primary, so an override costs the data plane nothing per request, and a route without one is untouched.
    func overridingPrimaries(_ overrides: [String: ArmConfig]) -> [RouteConfig] {
        guard !overrides.isEmpty else { return self }
        return map { route in
            guard let arm = overrides[route.name] else { return route }
            var overridden = route
            overridden.primary = arm
            return overridden
        }
    }
}
