// Where the event loops get their shards and readers sum them: per route, per arm, per loop.
import Synchronization

/// All the metrics shards of the process.
///
/// Loops ask for their shards when they install a config snapshot (off the request path; the only
/// place a lock is taken). A route name keeps its series for the life of the registry, so counters
/// survive config reloads. Readers sum every loop's shard with relaxed loads and never block a loop.
public final class MetricsRegistry: Sendable {
    /// One route's shards: `shards[arm.rawValue][loop]`.
    struct Series: Sendable {
        let name: String
        let shards: [[ArmShard]]
    }

    public let loopCount: Int
    private let series: Mutex<[String: Series]>
    /// By listener name (see ListenerGauge.swift).
    let listenerGauges = Mutex<[String: ListenerGauge]>([:])
    /// By route name, one per loop (see ClientSketch.swift).
    let clientSketches = Mutex<[String: [ClientSketch]]>([:])

    public init(loopCount: Int) {
        precondition(loopCount > 0, "a registry needs at least one loop")
        self.loopCount = loopCount
        series = Mutex([:])
    }

    /// The shard that `loop` (0..<loopCount) writes for `arm` of `route`, created on first use.
    public func shard(route: String, arm: Arm, loop: Int) -> ArmShard {
        precondition(loop >= 0 && loop < loopCount, "loop index out of range")
        return series.withLock { all in
            if let existing = all[route] { return existing.shards[arm.rawValue][loop] }
            let created = Series(name: route, shards: Arm.allCases.map { _ in (0..<loopCount).map { _ in ArmShard() } })
            all[route] = created
            return created.shards[arm.rawValue][loop]
        }
    }

    /// Every route's counters, summed over the loops, routes sorted by name. Costs
    /// O(routes × loops × cells); each cell is read once, relaxed, while the loops keep writing, so
    /// a snapshot is not one instant across cells (`ShardSum.add` says in which order), but every cell
    /// is at least its value in any earlier snapshot.
    public func snapshot() -> MetricsSnapshot {
        // Only the list is copied under the lock; the summing happens outside it.
        let all = series.withLock { Array($0.values) }
        let routes = all.sorted { $0.name < $1.name }.map { series in
            var route = RouteSnapshot(name: series.name)
            for arm in Arm.allCases {
                var sum = ShardSum()
                for shard in series.shards[arm.rawValue] { sum.add(shard) }
                route[arm] = sum.snapshot()
            }
            return route
        }
        return MetricsSnapshot(routes: routes)
    }
}
