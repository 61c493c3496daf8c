// One listener's connection figures, shared by every loop's socket of that name: open connections and how often a limit stopped accepts.
import Synchronization

/// Written by the loops (relaxed atomics, one add per connection opened or closed), read by /metrics.
/// Kept by name for the life of the registry, like route series, so a reload does not reset them.
public final class ListenerGauge: Sendable {
    public let name: String
    /// Client connections of this listener open now, all loops.
    public let connections = Atomic<Int>(0)
    /// Times a socket of this listener stopped accepting because a connection limit (the listener's
    /// or the proxy's `maxConnections`) was reached; it resumes when connections close.
    public let limited = Atomic<UInt64>(0)

    init(name: String) { self.name = name }
}

extension MetricsRegistry {
    /// The gauge of the listener named `name`, created on first use.
    public func listener(_ name: String) -> ListenerGauge {
        listenerGauges.withLock { all in
            if let existing = all[name] { return existing }
            let created = ListenerGauge(name: name)
            all[name] = created
            return created
        }
    }

    /// Every listener's gauge, sorted by name.
    public var listeners: [ListenerGauge] {
        listenerGauges.withLock { Array($0.values) }.sorted { $0.name < $1.name }
    }
}
