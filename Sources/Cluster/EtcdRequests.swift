// The JSON bodies of the etcd gateway's requests: keys and values in base64, 64-bit integers as strings (proto3 JSON).
import Foundation

/// Built as Foundation objects and serialised by JSONSerialization: this is the control path (a few
/// requests per publish interval), where clarity beats a hand-written encoder.
enum EtcdRequests {
    /// The gateway paths, etcd 3.4's `/v3/…` (the same client port as gRPC).
    enum Path {
        static let range = "/v3/kv/range"
        static let put = "/v3/kv/put"
        static let deleteRange = "/v3/kv/deleterange"
        static let txn = "/v3/kv/txn"
        static let leaseGrant = "/v3/lease/grant"
        static let leaseKeepAlive = "/v3/lease/keepalive"
        static let leaseRevoke = "/v3/lease/revoke"
        static let watch = "/v3/watch"
    }

    static func range(_ key: String, prefix: Bool, keysOnly: Bool = false) -> [String: Any] {
        var request = keyRange(key, prefix: prefix)
        if keysOnly { request["keys_only"] = true }
        return request
    }

    static func put(_ key: String, _ value: [UInt8], lease: Int64?) -> [String: Any] {
        var request: [String: Any] = ["key": base64(key), "value": base64(value)]
        if let lease, lease != 0 { request["lease"] = String(lease) }
        return request
    }

    static func delete(_ key: String, prefix: Bool) -> [String: Any] { keyRange(key, prefix: prefix) }

    static func leaseGrant(ttlSeconds: Int) -> [String: Any] { ["TTL": String(ttlSeconds)] }

    /// For keep-alive and revoke alike.
    static func lease(_ id: Int64) -> [String: Any] { ["ID": String(id)] }

    static func txn(_ txn: EtcdTxn) -> [String: Any] {
        [
            "compare": txn.compares.map(compare),
            "success": txn.success.map(operation),
            "failure": txn.failure.map(operation),
        ]
    }

    /// A watch of `key` (or every key under it) from `startRevision` (0: from now).
    static func watch(_ key: String, prefix: Bool, startRevision: Int64) -> [String: Any] {
        var create = keyRange(key, prefix: prefix)
        if startRevision > 0 { create["start_revision"] = String(startRevision) }
        return ["create_request": create]
    }

    static func encode(_ object: [String: Any]) -> [UInt8] {
        // Only strings, booleans, arrays and dictionaries of them go in: serialisation cannot fail.
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else {
            preconditionFailure("etcd request not serialisable: \(object)")
        }
        return [UInt8](data)
    }

    // MARK: - Parts

    private static func compare(_ compare: EtcdTxn.Compare) -> [String: Any] {
        switch compare {
        case .createRevision(let key, let revision):
            ["key": base64(key), "target": "CREATE", "result": "EQUAL", "create_revision": String(revision)]
        case .modRevision(let key, let revision):
            ["key": base64(key), "target": "MOD", "result": "EQUAL", "mod_revision": String(revision)]
        case .value(let key, let value):
            ["key": base64(key), "target": "VALUE", "result": "EQUAL", "value": base64(value)]
        }
    }

    private static func operation(_ operation: EtcdTxn.Operation) -> [String: Any] {
        switch operation {
        case .put(let key, let value, let lease): ["request_put": put(key, value, lease: lease)]
        case .delete(let key): ["request_delete_range": delete(key, prefix: false)]
        case .range(let key, let prefix): ["request_range": range(key, prefix: prefix)]
        }
    }

    /// `key`, plus `range_end` for every key under `key` when `prefix`.
    private static func keyRange(_ key: String, prefix: Bool) -> [String: Any] {
        var request: [String: Any] = ["key": base64(key)]
        if prefix { request["range_end"] = base64(ClusterKeys.rangeEnd(ofPrefix: key)) }
        return request
    }

    static func base64(_ key: String) -> String { base64(Array(key.utf8)) }
    static func base64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }
}
