// A fleet of canarygate replicas on one real etcd for the fleet-mode tests: start, read, kill, restart, load.
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

// How to use it (fleet tests):
//
//     var spec = RolloutSpec(primary: primary, canary: canary)     // the route `web` and its analysis, as usual
//     spec.interval = "500ms"
//     try withFleet(spec, replicas: 3) { fleet in                   // etcd + replicas a, b, c; all stopped after
//         let (leader, seconds) = try #require(fleet.waitForLeader(timeout: 5))
//         try withFleetLoad(fleet) { load in
//             let (statuses, met) = fleet.waitUntilAll(timeout: 15) { $0.phase == "Succeeded" }
//             #expect(met, "\(statuses)\n\(fleet.logTails())")
//         }
//     }
//
// - `withFleet(spec, replicas:, cluster:, customize:)`: `cluster` holds what every replica shares (fleet name,
//   leaseTTL, publishInterval; the etcd URL is filled in); `customize(index, &spec)` changes one replica's
//   spec before it starts (another canary revision for a config disagreement, another etcd URL to cut one
//   replica off through a proxy of your own). Replicas start one after the other, named a, b, c…; the first
//   to start usually leads, but do not rely on it: ask `fleet.leader()` or `waitForLeader`.
// - `fleet.etcd` is the EtcdServer (stop(), kill(), restart() on the same data).
// - A `FleetReplica` is a `RolloutProxy` (kill9(), restart(), stop(), metrics(), rollout(), log) with its name:
//   `status()` (the `cluster` block and the route `web`), `verb("pause")` (any replica; a follower forwards),
//   `canaryRequests()` (its canary arm's responses, from its /metrics), `reload(spec)` (keeps its cluster section).
// - `fleet.running`: replicas whose process runs. `statuses()` reads them all; `waitUntilAll` polls them until a
//   predicate holds for every one; `weights()` gives each one's live canary weight; `agreedStatuses()` reads them
//   while every replica has applied one state revision (and the leader is not between deciding and storing).
// - `withFleetLoad(fleet)`: keep-alive GET load through every running replica's listener from several clients
//   each (a killed replica's clients keep retrying; they count errors), stopped whatever happens.
// - On failure put `fleet.logTails()` in the message: each replica's log tail and its last /status.

/// The `cluster:` section of one replica's config.
struct ClusterSpec: Sendable {
    var name = "shop"
    /// This replica's name (set by `withFleet`: a, b, c…).
    var replica = "a"
    /// Filled in by `withFleet` with the fleet's etcd URL unless set.
    var etcd: [String] = []
    var leaseTTL = "2s"
    var publishInterval = "200ms"

    var yaml: String {
        "cluster:\n  name: \(name)\n  replica: \(replica)\n  etcd: [\(etcd.map { "\"\($0)\"" }.joined(separator: ", "))]\n"
            + "  leaseTTL: \(leaseTTL)\n  publishInterval: \(publishInterval)\n"
    }
}

/// One replica's GET /status: its `cluster` block and the route's rollout as it shows them.
struct ReplicaStatus: CustomStringConvertible {
    var replica: String
    /// leader, follower or degraded.
    var role: String
    var leader: String?
    var term: Int?
    var stateRevision: Int?
    var stateAgeSeconds: Double?
    var reason: String?
    var stateWriteFailure: String?
    var disagreement: [String]
    /// The replicas this one sees (`cluster.replicas[].name`).
    var replicaNames: [String]
    /// The route as this replica shows it: `routeWeight` is what its data plane uses, the rest the fleet's state.
    var rollout: RolloutStatus
    var json: [String: Any]

    var canaryWeight: Int { rollout.routeWeight }
    var phase: String { rollout.phase }
    var events: [String] { rollout.events }

    init(replica: String, json: [String: Any], route: String = "web") throws {
        self.replica = replica
        self.json = json
        guard let cluster = json["cluster"] as? [String: Any] else { throw ProxyError.badStatus(200, "no cluster in /status: \(json)") }
        role = cluster["role"] as? String ?? "?"
        leader = cluster["leader"] as? String
        term = (cluster["term"] as? NSNumber)?.intValue
        stateRevision = (cluster["stateRevision"] as? NSNumber)?.intValue
        stateAgeSeconds = (cluster["stateAgeSeconds"] as? NSNumber)?.doubleValue
        reason = cluster["reason"] as? String
        stateWriteFailure = cluster["stateWriteFailure"] as? String
        disagreement = cluster["disagreement"] as? [String] ?? []
        replicaNames = (cluster["replicas"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        let routes = json["routes"] as? [[String: Any]] ?? []
        guard let r = routes.first(where: { $0["name"] as? String == route }) else {
            throw ProxyError.badStatus(200, "no route \(route) in /status: \(json)")
        }
        rollout = RolloutStatus(route: r, events: json["events"] as? [String] ?? [])
    }

    var description: String {
        "\(replica): \(role) leader=\(leader ?? "nil") term=\(term.map(String.init) ?? "-") stateRevision=\(stateRevision.map(String.init) ?? "nil")"
            + (reason.map { " reason=\($0.debugDescription)" } ?? "") + (disagreement.isEmpty ? "" : " disagreement=\(disagreement)")
            + " | \(rollout)"
    }
}

/// One canarygate replica of the fleet: a `RolloutProxy` (restartable on its config) with its replica name.
final class FleetReplica {
    let name: String
    let proxy: RolloutProxy
    private(set) var cluster: ClusterSpec

    init(name: String, spec: RolloutSpec, dir: TempDir) throws {
        self.name = name
        cluster = spec.cluster!
        proxy = try RolloutProxy(spec, dir: dir)
    }

    var port: UInt16 { proxy.port }
    var adminPort: UInt16 { proxy.adminPort }
    var isRunning: Bool { proxy.isRunning }
    var log: String { proxy.log }

    func status() throws -> ReplicaStatus { try ReplicaStatus(replica: name, json: try proxy.statusJSON()) }
    func metrics() throws -> PromText { try proxy.metrics() }

    /// SIGKILL (no lease revoke: the fleet notices only when the lease expires); returns the exit status.
    @discardableResult
    func kill9() -> Int32? { proxy.kill9() }
    /// SIGTERM (the lease is revoked at once), SIGKILL after 2 s.
    func stop() { proxy.stop() }
    /// Starts the process again on the same config, ports and replica name (a new incarnation).
    func restart() throws { try proxy.restart() }

    /// `POST /routes/ROUTE/VERB`, waiting longer than a follower waits for the leader's answer (5 s).
    func verb(_ verb: String, route: String = "web") throws -> ClientResponse {
        try RawClient.fetch(
            port: adminPort, HTTPText.request("POST", "/routes/\(route)/\(verb)", host: "127.0.0.1:\(adminPort)", body: []),
            method: "POST", timeout: 8)
    }

    /// Rewrites the config from `spec` (this replica's cluster section kept) and POSTs /reload.
    func reload(_ spec: RolloutSpec) throws -> ClientResponse {
        var spec = spec
        spec.cluster = cluster
        return try proxy.reload(spec)
    }

    /// Responses this replica's canary arm of `route` sent to clients since it started (all status codes).
    func canaryRequests(route: String = "web") throws -> Int {
        Int(try metrics().sum("canarygate_requests_total", ["route": route, "arm": "canary"]))
    }
}

/// etcd and the replicas of one fleet. Use through `withFleet`, which stops every process.
final class Fleet {
    let etcd: EtcdServer
    let replicas: [FleetReplica]
    /// The fleet's name (the etcd keys are under /canarygate/<name>/).
    let name: String

    fileprivate init(etcd: EtcdServer, replicas: [FleetReplica], name: String) {
        self.etcd = etcd
        self.replicas = replicas
        self.name = name
    }

    var running: [FleetReplica] { replicas.filter(\.isRunning) }

    func replica(_ name: String) -> FleetReplica? { replicas.first { $0.name == name } }

    /// Every running replica's status (a replica that does not answer is left out).
    func statuses() -> [ReplicaStatus] { running.compactMap { try? $0.status() } }

    /// The running replicas that say they lead.
    func leaders() -> [FleetReplica] { running.filter { (try? $0.status().role) == "leader" } }

    /// The one running replica that says it leads; nil when none or several do.
    func leader() -> FleetReplica? {
        let found = leaders()
        return found.count == 1 ? found[0] : nil
    }

    /// Polls (every 20 ms) until a running replica not in `excluding` says it leads; that replica and the seconds
    /// since `since` (e.g. when the old leader was killed). Nil when none did within `timeout`.
    func waitForLeader(timeout: Double, since: Date = Date(), excluding: Set<String> = []) -> (replica: FleetReplica, seconds: Double)? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            for r in running where !excluding.contains(r.name) {
                if (try? r.status().role) == "leader" { return (r, Date().timeIntervalSince(since)) }
            }
            if Date() > deadline { return nil }
            usleep(20_000)
        }
    }

    /// Polls every running replica (every 50 ms) until `predicate` holds for each; the last statuses and whether
    /// it did. A replica that does not answer fails the round.
    @discardableResult
    func waitUntilAll(timeout: Double, _ predicate: (ReplicaStatus) -> Bool) -> (statuses: [ReplicaStatus], met: Bool) {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let live = running
            let statuses = live.compactMap { try? $0.status() }
            if statuses.count == live.count && !statuses.isEmpty && statuses.allSatisfy(predicate) { return (statuses, true) }
            if Date() > deadline { return (statuses, false) }
            usleep(50_000)
        }
    }

    /// Each running replica's live canary weight (its data plane's), by name.
    func weights() -> [String: Int] {
        Dictionary(uniqueKeysWithValues: statuses().map { ($0.replica, $0.canaryWeight) })
    }

    /// Statuses of every running replica, read while all of them show one state revision: the same in a read
    /// `settle` seconds before and one `settle` seconds after (longer than a control tick, so each replica has
    /// applied it, and longer than a state write, so the leader was not ahead of the stored state, between
    /// deciding and storing, while it was read). The middle read; nil if that never held within `timeout`.
    func agreedStatuses(timeout: Double = 3, settle: Double = 0.15) -> [ReplicaStatus]? {
        let deadline = Date().addingTimeInterval(timeout)
        let revisions = { (statuses: [ReplicaStatus]) in Set(statuses.map(\.stateRevision)) }
        var before = statuses()
        while Date() < deadline {
            usleep(UInt32(settle * 1_000_000))
            let middle = statuses()
            usleep(UInt32(settle * 1_000_000))
            let after = statuses()
            let agreed = revisions(before)
            if agreed.count == 1, agreed.first! != nil, [before.count, middle.count, after.count].allSatisfy({ $0 == running.count }),
                revisions(middle) == agreed, revisions(after) == agreed
            {
                return middle
            }
            before = after
        }
        return nil
    }

    /// The rollout state document the leader last wrote (`control/state` in etcd, read with etcdctl), parsed;
    /// nil when there is none (or etcd does not answer).
    func storedState() -> [String: Any]? {
        guard let result = try? etcd.etcdctl(["get", "/canarygate/\(name)/control/state", "--print-value-only"]),
            result.status == 0, !result.stdout.isEmpty
        else { return nil }
        return try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
    }

    /// The route's entry of `storedState()` (RolloutState's JSON: phase, canaryWeight, canaryRevision, rolloutNumber…).
    func storedRollout(route: String = "web") -> [String: Any]? {
        (storedState()?["routes"] as? [[String: Any]])?.first { $0["route"] as? String == route }
    }

    /// For failure messages: each replica's last status and log tail.
    func logTails(_ bytes: Int = 2500) -> String {
        replicas.map { r in
            let status = (try? r.status()).map(\.description) ?? (r.isRunning ? "no /status" : "not running")
            return "--- replica \(r.name) (\(status)), log \(r.proxy.logFile.path):\n\(r.log.suffix(bytes))"
        }.joined(separator: "\n")
    }
}

/// Starts etcd and `replicas` replicas (a, b, c…) of `spec` in one fleet, runs `body`, then stops every replica and
/// etcd whatever happens. `customize(index, &spec)` adjusts one replica's spec (its `cluster` already set). On a
/// thrown error the logs are printed and kept; `CANARYGATE_KEEP_LOGS=1` keeps them always.
func withFleet<T>(
    _ spec: RolloutSpec, replicas count: Int = 3, cluster: ClusterSpec = ClusterSpec(),
    customize: (Int, inout RolloutSpec) -> Void = { _, _ in }, _ body: (Fleet) throws -> T
) throws -> T {
    try withEtcd { etcd in
        var keep = ProcessInfo.processInfo.environment["CANARYGATE_KEEP_LOGS"] == "1"
        var started: [FleetReplica] = []
        var dirs: [TempDir] = []
        defer {
            for r in started { r.stop() }
            if !keep { for dir in dirs { dir.remove() } }
        }
        for index in 0..<count {
            var replicaSpec = spec
            var section = cluster
            section.replica = String(UnicodeScalar(UInt8(ascii: "a") + UInt8(index)))
            if section.etcd.isEmpty { section.etcd = [etcd.url] }
            replicaSpec.cluster = section
            customize(index, &replicaSpec)
            let dir = try TempDir.make()
            dirs.append(dir)
            do { started.append(try FleetReplica(name: section.replica, spec: replicaSpec, dir: dir)) } catch {
                keep = true
                print("replica \(section.replica) did not start: \(error)")
                throw error
            }
        }
        let fleet = Fleet(etcd: etcd, replicas: started, name: cluster.name)
        do {
            return try body(fleet)
        } catch {
            keep = true
            print("fleet failed: \(error)\n\(fleet.logTails(6000))")
            throw error
        }
    }
}

// MARK: - Load

/// Keep-alive GET load through every replica's listener: `clientsPerReplica` clients on each (a `TrafficLoad`
/// per replica), each pausing `pause` seconds between requests, bounded by `maxSeconds`.
final class FleetLoad {
    let loads: [String: TrafficLoad]

    init(_ fleet: Fleet, clientsPerReplica: Int = 2, pause: Double = 0.01, maxSeconds: Double = 30) {
        var loads: [String: TrafficLoad] = [:]
        for r in fleet.running {
            loads[r.name] = TrafficLoad(port: r.port, clients: clientsPerReplica, pause: pause, maxSeconds: maxSeconds)
        }
        self.loads = loads
    }

    /// Stops every client and joins them (bounded).
    @discardableResult
    func stop() -> Bool { loads.values.map { $0.stop() }.allSatisfy { $0 } }

    /// Answers with this body (e.g. the canary's "v2") over every replica.
    func count(body: String) -> Int { loads.values.reduce(0) { $0 + $1.count(body: body) } }
    func count(status: Int) -> Int { loads.values.reduce(0) { $0 + $1.count(status: status) } }
    var total: Int { loads.values.reduce(0) { $0 + $1.total } }
    var errorSamples: [String] { loads.keys.sorted().flatMap { name in loads[name]!.errorSamples.prefix(3).map { "\(name): \($0)" } } }
}

/// Runs `body` with load through every running replica; the load is stopped (threads joined) whatever happens.
func withFleetLoad<T>(
    _ fleet: Fleet, clientsPerReplica: Int = 2, pause: Double = 0.01, maxSeconds: Double = 30, _ body: (FleetLoad) throws -> T
) rethrows -> T {
    let load = FleetLoad(fleet, clientsPerReplica: clientsPerReplica, pause: pause, maxSeconds: maxSeconds)
    defer { load.stop() }
    return try body(load)
}
