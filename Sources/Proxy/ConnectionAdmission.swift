// A loop's side of the client connection limits and of balancing between loops: whether to accept, which loop serves, what a close frees.
import Config
import Telemetry

/// Counts live in atomics other loops read (`LoopControl.openConnections`, each listener's gauge), read
/// relaxed: loops accepting at once may pass a limit by one each, which the descriptor reserve absorbs.
final class ConnectionAdmission {
    let control: LoopControl
    /// The other loops serving the same listeners (see `AcceptBalance.connections`).
    var peers: [LoopControl] = []
    /// Client connections of all loops beyond which listeners stop accepting (see ConnectionBudget).
    var maxConnections: Int

    init(control: LoopControl, maxConnections: Int) {
        self.control = control
        self.maxConnections = maxConnections
    }

    /// Whether a listener must stop accepting: its own limit (`listenerLimit`, counted on `gauge`) or
    /// the proxy's is reached.
    func atLimit(_ gauge: ListenerGauge, listenerLimit: Int?) -> Bool {
        if let listenerLimit, gauge.connections.load(ordering: .relaxed) >= listenerLimit { return true }
        var open = control.openConnections.load(ordering: .relaxed)
        for peer in peers { open += peer.openConnections.load(ordering: .relaxed) }
        return open >= maxConnections
    }

    /// Counts a connection a listener accepted and decides who serves it: nil, this loop; else the peer
    /// it is handed to (its count moved there). `generation`: the snapshot this loop serves.
    func admit(on gauge: ListenerGauge, balance: AcceptBalance, generation: Int) -> LoopControl? {
        gauge.connections.add(1, ordering: .relaxed)
        // Counted before deciding, so two loops accepting at once each see the other's new connection.
        let mine = control.openConnections.add(1, ordering: .relaxed).newValue
        // Only to a peer serving the same snapshot: an older one may not have this listener yet (a
        // reload just added it), a newer one may have changed it (another address, TLS on or off).
        // Until they agree the peer counts as full.
        guard balance == .connections, !peers.isEmpty,
            let i = AcceptBalancer.target(
                mine: mine,
                peerCounts: peers.lazy.map {
                    $0.servedGeneration.load(ordering: .acquiring) == generation ? $0.openConnections.load(ordering: .relaxed) : Int.max
                })
        else { return nil }
        let target = peers[i]
        target.openConnections.add(1, ordering: .relaxed)
        control.openConnections.subtract(1, ordering: .relaxed)
        control.handedOver.add(1, ordering: .relaxed)
        return target
    }

    /// A client connection of the listener counted on `gauge` closed (or was never served): it no
    /// longer counts against the limits.
    func closed(_ gauge: ListenerGauge) {
        control.openConnections.subtract(1, ordering: .relaxed)
        gauge.connections.subtract(1, ordering: .relaxed)
    }
}
