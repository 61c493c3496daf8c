// The etcd gateway's JSON answers decoded: int64s arrive as strings, bytes as base64, and zero or false fields are absent.
import Foundation

/// proto3 JSON leaves out every field at its default: `"succeeded"` is absent when a transaction
/// failed, a range that found nothing has no `"kvs"`, a watch event without `"type"` is a put, a
/// keep-alive for a lease that is gone has no `"TTL"`. So an absent field reads as zero, and only a
/// field that is present with the wrong type is malformed.
enum EtcdResponses {
    typealias Object = [String: Any]

    static func object(_ bytes: [UInt8]) throws(EtcdError) -> Object {
        let parsed = try? JSONSerialization.jsonObject(with: Data(bytes))
        guard let object = parsed as? Object else {
            throw .malformed("not a JSON object: \(String(decoding: bytes.prefix(120), as: UTF8.self))")
        }
        return object
    }

    /// etcd's error body for a non-2xx status: `{"error": "...", "code": 5, "message": "..."}`.
    static func serverError(status: Int, body: [UInt8]) -> EtcdError {
        let object = try? object(body)
        let message =
            (object?["message"] as? String) ?? (object?["error"] as? String)
            ?? String(decoding: body.prefix(200), as: UTF8.self)
        return .server(status: status, message: message)
    }

    /// The `result` of one message of a streamed answer (keep-alive, watch): `{"result": {...}}`, or
    /// the stream's error, `{"error": {"grpc_code", "http_code", "message", ...}}`.
    static func streamResult(_ line: [UInt8]) throws(EtcdError) -> Object {
        let message = try object(line)
        if let result = message["result"] as? Object { return result }
        if let error = message["error"] as? Object {
            let status = (try? int64(error, "http_code")).map(Int.init) ?? 500
            throw .server(status: status == 0 ? 500 : status, message: (error["message"] as? String) ?? "stream error")
        }
        throw .malformed("a stream message with neither result nor error")
    }

    /// The first message of a stream answer that has ended (a keep-alive's): its first non-blank line.
    static func firstStreamResult(_ body: [UInt8]) throws(EtcdError) -> Object {
        let lines = body.split(separator: UInt8(ascii: "\n"))
        guard let line = lines.first(where: { $0.contains { $0 > UInt8(ascii: " ") } }) else { throw .malformed("an empty stream answer") }
        return try streamResult(Array(line))
    }

    /// The revision in the answer's header.
    static func revision(_ response: Object) throws(EtcdError) -> Int64 {
        guard let header = response["header"] else { return 0 }
        guard let header = header as? Object else { throw .malformed("header is not an object") }
        return try int64(header, "revision")
    }

    static func range(_ response: Object) throws(EtcdError) -> EtcdRange {
        guard let list = response["kvs"] else { return EtcdRange(revision: try revision(response), kvs: []) }
        guard let kvs = list as? [Object] else { throw .malformed("kvs is not a list of objects") }
        var decoded: [EtcdKeyValue] = []
        decoded.reserveCapacity(kvs.count)
        for kv in kvs { decoded.append(try keyValue(kv)) }
        return EtcdRange(revision: try revision(response), kvs: decoded)
    }

    static func keyValue(_ kv: Object) throws(EtcdError) -> EtcdKeyValue {
        EtcdKeyValue(
            key: String(decoding: try bytes(kv, "key"), as: UTF8.self), value: try bytes(kv, "value"),
            createRevision: try int64(kv, "create_revision"), modRevision: try int64(kv, "mod_revision"),
            version: try int64(kv, "version"), lease: try int64(kv, "lease"))
    }

    static func lease(_ response: Object) throws(EtcdError) -> EtcdLease {
        // A refused grant may come back as 200 with its reason in `error` (LeaseGrantResponse.error).
        if let error = response["error"] as? String, !error.isEmpty { throw .server(status: 200, message: error) }
        let id = try int64(response, "ID")
        guard id != 0 else { throw .malformed("a lease grant without an ID") }
        return EtcdLease(id: id, ttl: Int(try int64(response, "TTL")))
    }

    static func txn(_ response: Object) throws(EtcdError) -> EtcdTxnResult {
        let succeeded = (response["succeeded"] as? Bool) ?? false
        var ranges: [EtcdRange] = []
        if let list = response["responses"] {
            guard let responses = list as? [Object] else { throw .malformed("responses is not a list of objects") }
            for answer in responses {
                guard let range = answer["response_range"] else { continue }
                guard let range = range as? Object else { throw .malformed("response_range is not an object") }
                ranges.append(try self.range(range))
            }
        }
        return EtcdTxnResult(succeeded: succeeded, revision: try revision(response), ranges: ranges)
    }

    /// An int64 field: a string by proto3 JSON's rule, a number accepted too; absent is 0.
    static func int64(_ object: Object, _ field: String) throws(EtcdError) -> Int64 {
        switch object[field] {
        case nil: return 0
        case let text as String:
            guard let value = Int64(text) else { throw .malformed("\(field) is not an integer: \(text.debugDescription)") }
            return value
        case let number as NSNumber: return number.int64Value
        default: throw .malformed("\(field) is not an integer")
        }
    }

    /// A bytes field (base64); absent is empty.
    static func bytes(_ object: Object, _ field: String) throws(EtcdError) -> [UInt8] {
        guard let value = object[field] else { return [] }
        guard let text = value as? String, let data = Data(base64Encoded: text) else {
            throw .malformed("\(field) is not base64")
        }
        return [UInt8](data)
    }
}
