// One message of an etcd watch stream, decoded: the watch was created, events happened, or etcd ended the watch.

enum EtcdWatchMessage: Sendable, Equatable {
    case created(revision: Int64)
    /// In revision order; `revision` is the store's revision when etcd sent them.
    case events([EtcdEvent], revision: Int64)
    /// Nothing for the caller (a progress notification).
    case progress(revision: Int64)
    /// etcd canceled the watch: `.compacted` when the start revision is gone, else its reason.
    case canceled(EtcdError)

    /// Decodes one line of the stream, `{"result": {...}}` (see `EtcdResponses.streamResult`).
    static func parse(_ line: [UInt8]) throws(EtcdError) -> EtcdWatchMessage {
        let result = try EtcdResponses.streamResult(line)
        let revision = try EtcdResponses.revision(result)
        if (result["canceled"] as? Bool) == true {
            let compactRevision = try EtcdResponses.int64(result, "compact_revision")
            if compactRevision > 0 { return .canceled(.compacted(revision: compactRevision)) }
            let reason = (result["cancel_reason"] as? String).flatMap { $0.isEmpty ? nil : $0 } ?? "etcd canceled the watch"
            return .canceled(.server(status: 200, message: reason))
        }
        if (result["created"] as? Bool) == true { return .created(revision: revision) }
        guard let list = result["events"] else { return .progress(revision: revision) }
        guard let events = list as? [[String: Any]] else { throw .malformed("events is not a list of objects") }
        var decoded: [EtcdEvent] = []
        decoded.reserveCapacity(events.count)
        for event in events {
            guard let kv = event["kv"] as? [String: Any] else { throw .malformed("a watch event without kv") }
            let kind: EtcdEvent.Kind
            switch event["type"] as? String {
            case nil, "PUT": kind = .put
            case "DELETE": kind = .delete
            case let other?: throw .malformed("unknown watch event type \(other)")
            }
            decoded.append(EtcdEvent(kind: kind, kv: try EtcdResponses.keyValue(kv)))
        }
        return .events(decoded, revision: revision)
    }
}
