// The source of a failed exchange, as the counters and the `source` label of /metrics name it.

/// Why an exchange failed. All but `downstreamAbort` are the upstream arm's fault; the client
/// going away is counted apart and never held against an arm (docs/JUDGES.md, section 2: aborts are their own outcome class).
public enum FailureKind: Int, CaseIterable, Sendable {
    case connectRefused
    case connectFailed
    case connectTimeout
    /// The TLS handshake with the upstream failed: its certificate did not verify (untrusted chain,
    /// wrong name, expired), or it does not speak TLS or no common protocol version.
    case tlsHandshakeFailed
    case upstreamReset
    case upstreamClosed
    case invalidResponse
    case responseTimeout
    /// A gRPC response whose `grpc-status` is a server-side failure (UNKNOWN, DEADLINE_EXCEEDED,
    /// INTERNAL, UNAVAILABLE, DATA_LOSS): recorded with its HTTP status (usually 200), and counted
    /// as a failed response of the arm by the judges.
    case grpcError
    case downstreamAbort

    /// The Prometheus label value (snake_case, stable: dashboards and alerts match on it).
    public var label: String {
        switch self {
        case .connectRefused: "connect_refused"
        case .connectFailed: "connect_failed"
        case .connectTimeout: "connect_timeout"
        case .tlsHandshakeFailed: "tls_handshake_failed"
        case .upstreamReset: "upstream_reset"
        case .upstreamClosed: "upstream_closed"
        case .invalidResponse: "invalid_response"
        case .responseTimeout: "response_timeout"
        case .grpcError: "grpc_error"
        case .downstreamAbort: "downstream_abort"
        }
    }

    /// Whether this failure counts against the arm (everything but the client going away).
    public var isUpstream: Bool { self != .downstreamAbort }
}
