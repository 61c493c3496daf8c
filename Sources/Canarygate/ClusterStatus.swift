// The fleet as /status and /metrics show it: this replica's role, the leader, the replicas, the state's age.
import Cluster
import EventLoop
import Foundation
import Telemetry

/// Read under the controller's lock, rendered outside it.
struct ClusterStatus {
    /// The leader's holds each replica's record as last published (others see names only).
    var view: ClusterView
    var disagreements: [String]
    var traffic: EtcdTraffic

    /// The `cluster` member of GET /status.
    func statusJSON() -> String {
        let now = MonotonicClock.nowNanoseconds()
        let json = StatusDocument.json
        // Decoded here, for /status only: /metrics reads none of it.
        let records = view.records.values.compactMap { try? ReplicaRecord.decode($0.value) }
        let byName = Dictionary(records.map { ($0.replica, $0) }, uniquingKeysWith: { a, _ in a })
        let replicas = view.replicaNames.map { name -> String in
            var fields = ["\"name\":\(json(name))"]
            fields.append("\"role\":\(json(name == view.leader ? "leader" : "follower"))")
            if let record = byName[name] {
                let revisions = record.revisions.keys.sorted().map { route in
                    let r = record.revisions[route]!
                    return "\(json(route)):{\"primary\":\(json(r.primary)),\"canary\":\(json(r.canary))}"
                }
                fields.append("\"admin\":\(json(record.admin))")
                fields.append("\"configHash\":\(json(record.configHash))")
                fields.append("\"revisions\":{\(revisions.joined(separator: ","))}")
                fields.append("\"alarms\":[\(record.alarms.map { json("\($0.route): \($0.reason)") }.joined(separator: ","))]")
                if let stored = view.records[name] {
                    fields.append("\"lastSeenSeconds\":\(StatusDocument.number(Double(now &- stored.receivedAt) / 1e9))")
                }
            }
            return "{" + fields.joined(separator: ",") + "}"
        }
        var fields = [
            "\"name\":\(json(view.fleet))", "\"replica\":\(json(view.replica))", "\"role\":\(json(view.role.name))",
            "\"leader\":\(view.leader.map(json) ?? "null")",
            "\"term\":\(term.map(String.init) ?? "null")",
            "\"stateRevision\":\(view.state.map { String($0.modRevision) } ?? "null")",
            "\"stateAgeSeconds\":\(stateAge(now: now).map(StatusDocument.number) ?? "null")",
            "\"etcd\":\(json(view.endpoint))",
            "\"replicas\":[\(replicas.joined(separator: ","))]",
            "\"disagreement\":[\(disagreements.map(json).joined(separator: ","))]",
        ]
        if case .degraded(let why) = view.role { fields.append("\"reason\":\(json(why))") }
        if let failure = view.stateWriteFailure { fields.append("\"stateWriteFailure\":\(json(failure))") }
        return "{" + fields.joined(separator: ",") + "}"
    }

    private var term: Int64? {
        if case .leader(let term) = view.role { return term }
        return nil
    }

    /// Seconds since this replica last received the state (a write of its own, a watch event or a read).
    func stateAge(now: UInt64) -> Double? {
        view.state.map { Double(now &- $0.receivedAt) / 1e9 }
    }

    func render(into writer: inout PrometheusWriter) {
        writer.family("canarygate_cluster_role", type: .gauge, help: "This replica's role in its fleet: 1 for the current one.")
        for role in ["leader", "follower", "degraded"] {
            writer.sample("canarygate_cluster_role", [("role", role)], UInt64(view.role.name == role ? 1 : 0))
        }
        writer.family(
            "canarygate_cluster_state_age_seconds", type: .gauge,
            help: "Seconds since this replica last received the fleet's rollout state from etcd (NaN before the first).")
        writer.sample("canarygate_cluster_state_age_seconds", [], stateAge(now: MonotonicClock.nowNanoseconds()) ?? .nan)
        writer.family("canarygate_cluster_replicas", type: .gauge, help: "Live replicas of the fleet, as this replica last saw them.")
        writer.sample("canarygate_cluster_replicas", [], UInt64(view.replicaNames.count))
        writer.family("canarygate_cluster_leader_changes_total", type: .counter, help: "Times this replica saw the fleet's leader change.")
        writer.sample("canarygate_cluster_leader_changes_total", [], UInt64(view.leaderChanges))
        writer.family(
            "canarygate_cluster_disagreements", type: .gauge,
            help: "Managed routes the leader does not advance because replicas disagree on their revisions.")
        writer.sample("canarygate_cluster_disagreements", [], UInt64(disagreements.count))
        writer.family("canarygate_cluster_etcd_requests_total", type: .counter, help: "Requests this replica sent etcd, by operation.")
        for operation in EtcdTraffic.Operation.allCases {
            writer.sample("canarygate_cluster_etcd_requests_total", [("op", operation.label)], traffic.requests(operation))
        }
        writer.family("canarygate_cluster_etcd_bytes_total", type: .counter, help: "Bytes this replica exchanged with etcd.")
        writer.sample("canarygate_cluster_etcd_bytes_total", [("direction", "sent")], traffic.bytesSent)
        writer.sample("canarygate_cluster_etcd_bytes_total", [("direction", "received")], traffic.bytesReceived)
        writer.family("canarygate_cluster_etcd_errors_total", type: .counter, help: "etcd requests that failed (no answer, or an error).")
        writer.sample("canarygate_cluster_etcd_errors_total", [], traffic.errors)
    }
}
