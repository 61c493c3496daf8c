// How many body bytes a loop moved with splice(2), by direction: the evidence that the zero-copy path runs.
import Synchronization

/// Written by its loop (a relaxed add per splice to a socket, one per pipe's worth of bytes), read by /metrics.
public final class SplicedBytes: Sendable {
    /// Request-body bytes spliced to upstreams.
    public let toUpstream = Atomic<UInt64>(0)
    /// Response-body bytes spliced to clients.
    public let toClient = Atomic<UInt64>(0)

    init() {}
}
