// The top-level `tracing` section as plain values: W3C trace context handling and the arm response header.

/// How the proxy treats W3C trace context (`traceparent`, `tracestate`) on the requests it forwards,
/// and whether it names the arm that served each response. Absent: `start`, no arm header.
public struct TracingConfig: Sendable, Equatable {
    public enum TraceParent: String, Sendable, Equatable, CaseIterable {
        /// Relay whatever the client sent, valid or not, present or not.
        case pass
        /// Relay a valid `traceparent` (and its `tracestate`) unchanged; replace an absent or invalid one
        /// with a new trace, dropping the `tracestate` that has no valid parent to belong to.
        case start
    }

    public static let defaultArmHeaderName = "x-canarygate-arm"

    public var traceparent = TraceParent.start
    /// Add `armHeaderName: ARM/REVISION` to every response relayed from an arm.
    public var armHeader = false
    /// A lower-case token naming no field the proxy manages itself.
    public var armHeaderName = defaultArmHeaderName

    public init() {}
}
