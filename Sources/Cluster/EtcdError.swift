// Why an etcd request failed: no endpoint answered, no answer in time, etcd's own refusal, a garbled answer, or a compacted watch.

/// Every case carries a sentence for the log and `/status` ("etcd unreachable: http://127.0.0.1:2379:
/// connection refused"), so a caller can show it as is.
public enum EtcdError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No endpoint could be connected to, or the connection broke; says which and why.
    case unreachable(String)
    /// Connected, but no complete answer before the request's deadline.
    case timedOut(String)
    /// etcd refused the request: the HTTP status and the message of its error JSON
    /// (`{"error","code","message"}`), e.g. 404 "etcdserver: requested lease not found".
    case server(status: Int, message: String)
    /// The answer was not what the JSON gateway sends (bad framing, bad JSON, an oversized response).
    case malformed(String)
    /// A watch's start revision was compacted away: the events in between are lost, so the caller
    /// ranges again and watches from that range's revision + 1. `revision` is the oldest one etcd keeps.
    case compacted(revision: Int64)

    public var description: String {
        switch self {
        case .unreachable(let why): "etcd unreachable: \(why)"
        case .timedOut(let why): "etcd timed out: \(why)"
        case .server(let status, let message): "etcd refused the request (HTTP \(status)): \(message)"
        case .malformed(let why): "etcd sent a malformed response: \(why)"
        case .compacted(let revision): "etcd compacted the watched revisions (the oldest kept is \(revision))"
        }
    }
}
