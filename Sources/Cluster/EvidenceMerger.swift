// The leader's exact sum of every replica's cumulative counters: never decreasing through restarts and departures.
import Telemetry

/// What one replica's record said at one look: its cumulative counters since its process started.
public struct ReplicaEvidence: Sendable, Equatable {
    public var replica: String
    /// Random per process start: a new one means the replica restarted and its counters began again at 0.
    public var incarnation: String
    public var routes: [RouteSnapshot]

    public init(replica: String, incarnation: String, routes: [RouteSnapshot]) {
        self.replica = replica
        self.incarnation = incarnation
        self.routes = routes
    }
}

/// Sums the replicas' counters into one cumulative `RouteSnapshot` per route, which the leader's
/// rollout controller treats as a single proxy's: it takes `delta(since:)` between looks. A delta
/// clamps a counter that went down to 0, so a sum that dropped (a replica gone, or restarted at 0)
/// and then grew back would count the regrowth twice: every counter of `merge`'s output therefore
/// never decreases from one look to the next, and counts each request once.
///
/// The rules, per replica name:
/// - The first look counts every replica's counters whole (the caller takes it as its baseline). A replica
///   first seen at a later look counts from that record: its counters before it are history this merger
///   never judged (a partitioned replica coming back to a leader elected meanwhile would otherwise add its
///   whole past to one tick). What a brand-new replica counted before its first publication (at most
///   `publishInterval`) is lost rather than dumped on one tick.
/// - Its counters are held at their high-water mark (a stale record delivered late changes nothing).
/// - A new incarnation (a restart) folds the old one's counters into a retained base: the old
///   process is gone for good, and the new one counts from 0.
/// - A replica missing from a look (lease expired, crashed, partitioned) keeps its counters but no
///   longer its gauges: its requests in flight are gone, or invisible. If it comes back with the same
///   incarnation (a partition healed), it resumes where it was, without counting anything twice.
/// - After `departedLooksKept` looks away, its counters are folded into the base so that a fleet whose
///   replicas come and go (new names on every deploy) does not grow the merger without bound. Should
///   that incarnation still come back, its first record after that is a baseline: only what it counts
///   from then on is added (what it counted while away is lost, rather than counted twice).
/// - A route a replica does not report counts as zero (a route added by a reload on some replicas
///   only); a route it stops reporting keeps its counters, but its gauges drop to zero.
///
/// Gauges (`inFlight`, `tunnelsActive`) are the sum over the replicas present in the look.
public struct EvidenceMerger: Sendable {
    /// Looks a departed replica stays apart before its counters are folded into the base (600 of the
    /// leader's 100 ms ticks: a minute).
    public let departedLooksKept: Int
    /// Counters of incarnations that will not report again, by route; gauges zero.
    private var retained: [String: RouteSnapshot] = [:]
    private var replicas: [String: HeldReplica] = [:]
    /// Looks taken so far.
    private var looks = 0

    public init(departedLooksKept: Int = 600) {
        self.departedLooksKept = departedLooksKept
    }

    /// Takes one look at the live replicas' records (one per replica name) and returns the merged
    /// cumulative counters of every route any replica ever reported, by route name.
    public mutating func merge(_ look: [ReplicaEvidence]) -> [String: RouteSnapshot] {
        var present = Set<String>()
        for evidence in look {
            present.insert(evidence.replica)
            let reported = Dictionary(evidence.routes.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
            if var held = replicas[evidence.replica], held.incarnation == evidence.incarnation {
                held.update(with: reported)
                replicas[evidence.replica] = held
                continue
            }
            // A restart of a replica already held counts from 0: its new process began after the old one's last record.
            let restarted = replicas[evidence.replica] != nil
            if let superseded = replicas[evidence.replica] { fold(superseded) }
            replicas[evidence.replica] = HeldReplica(
                incarnation: evidence.incarnation, reported: reported, isBaseline: !restarted && looks > 0)
        }
        for (name, var held) in replicas where !present.contains(name) {
            held.looksAbsent += 1
            if held.looksAbsent > departedLooksKept {
                fold(held)
                replicas[name] = nil
            } else {
                replicas[name] = held
            }
        }
        looks += 1
        var merged = retained
        for held in replicas.values {
            for (name, counters) in held.contribution { merged[name] = (merged[name] ?? RouteSnapshot(name: name)) + counters }
        }
        return merged
    }

    /// The replicas present in the last look, and those away but not yet folded, by name.
    public var heldReplicas: (present: [String], away: [String]) {
        let names = replicas.sorted { $0.key < $1.key }
        return (names.filter { $0.value.looksAbsent == 0 }.map(\.key), names.filter { $0.value.looksAbsent > 0 }.map(\.key))
    }

    private mutating func fold(_ held: HeldReplica) {
        for (name, counters) in held.contribution {
            retained[name] = (retained[name] ?? RouteSnapshot(name: name)) + counters.withoutGauges
        }
    }
}

/// One replica's latest incarnation as the merger holds it.
private struct HeldReplica {
    let incarnation: String
    /// High-water counters by route; gauges from the latest record (zero for a route it no longer reports).
    var routes: [String: RouteSnapshot]
    /// What of `routes` is already counted elsewhere (an incarnation folded after a long absence); usually empty.
    let baseline: [String: RouteSnapshot]
    /// Consecutive looks without this replica's record; 0 when it was in the last one.
    var looksAbsent = 0

    init(incarnation: String, reported: [String: RouteSnapshot], isBaseline: Bool) {
        self.incarnation = incarnation
        routes = reported
        baseline = isBaseline ? reported : [:]
    }

    mutating func update(with reported: [String: RouteSnapshot]) {
        looksAbsent = 0
        for name in Set(routes.keys).union(reported.keys) {
            let held = routes[name] ?? RouteSnapshot(name: name)
            routes[name] = held.highWater(with: reported[name] ?? RouteSnapshot(name: name))
        }
    }

    /// What this replica adds to the sum: its counters past the baseline, and its gauges while present.
    var contribution: [String: RouteSnapshot] {
        routes.mapValues { route in
            let counted = baseline[route.name].map { route.delta(since: $0) } ?? route
            return looksAbsent == 0 ? counted : counted.withoutGauges
        }
    }
}

extension RouteSnapshot {
    /// The same counters with `inFlight` and `tunnelsActive` at 0 (what a departed replica still contributes).
    fileprivate var withoutGauges: RouteSnapshot {
        var copy = self
        for arm in Arm.allCases {
            copy[arm].inFlight = 0
            copy[arm].tunnelsActive = 0
        }
        return copy
    }
}
