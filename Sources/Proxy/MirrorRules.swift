// A route's `mirror` compiled for the loops: which requests are eligible, what share is copied, how responses compare.
import Config
import HTTP

/// Built once per config for a route with a canary and a `mirror` of weight above 0; nil otherwise, so
/// a route without mirroring pays one test of a nil reference per request.
public final class MirrorRules: Sendable {
    /// Percent of the eligible requests served by the primary that are copied, 1...100.
    let weight: Int
    /// `mirror.match`: a request matching it is eligible whatever its method; nil without entries.
    let match: CohortRules?
    let maxBodyBytes: Int
    let maxInFlight: Int
    let compare: MirrorComparePolicy

    /// nil when `config` copies nothing (weight 0).
    init?(_ config: MirrorConfig) {
        guard config.weight > 0 else { return nil }
        weight = config.weight
        match = CohortRules(config.match)
        maxBodyBytes = config.maxBodyBytes
        maxInFlight = config.maxInFlight
        compare = MirrorComparePolicy(config.compare)
    }

    /// Whether `request` may be mirrored: a safe method (RFC 9110 §9.2.1: a copy does no harm), or a
    /// match of `mirror.match`, which widens the rule on purpose (a copied write is done twice).
    func isEligible(_ request: RequestView) -> Bool {
        if request.method.isSafe { return true }
        return match?.matches(request) ?? false
    }
}

extension HTTPMethod {
    /// RFC 9110 §9.2.1: the methods whose semantics are read-only.
    var isSafe: Bool {
        switch self {
        case .get, .head, .options, .trace: return true
        case .post, .put, .delete, .patch, .connect, .other: return false
        }
    }
}

/// Picks `weight` requests in every 100 eligible ones, evenly spread and exactly (a running credit, like
/// a line drawn on a grid): the mirror's share is what was configured over any 100 requests, not on average.
struct MirrorShare {
    private var credit = 0

    mutating func take(weight: Int) -> Bool {
        credit += weight
        guard credit >= 100 else { return false }
        credit -= 100
        return true
    }
}

/// A loop's mirror slots of one route: at most `limit`, created when first needed and reused; none free
/// means the mirror is dropped, never queued (`take` returns nil).
struct MirrorSlotPool<Slot: AnyObject> {
    let limit: Int
    private var free: [Slot] = []
    private(set) var created = 0

    init(limit: Int) { self.limit = limit }

    /// Slots taken and not given back.
    var inUse: Int { created - free.count }

    mutating func take(_ make: () -> Slot) -> Slot? {
        if let slot = free.popLast() { return slot }
        guard created < limit else { return nil }
        created += 1
        return make()
    }

    /// A free slot, never a new one (to let go of them).
    mutating func takeFree() -> Slot? { free.popLast() }

    mutating func give(_ slot: Slot) {
        free.append(slot)
    }
}
