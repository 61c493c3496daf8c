// A loop's listening sockets: which a reload keeps, closes and opens, and the lookup of one by name.
import Config
import EventLoop

/// What a listening socket is matched on across a reload: a kept socket must keep its name and
/// address, and TLS on or off (a certificate swap is a setting; plain to TLS is another socket).
struct ListenerIdentity: Equatable {
    let name: String
    let address: SocketAddress
    let tls: Bool
}

/// Which sockets a reload keeps, closes and opens, from the identities alone (no socket is touched).
struct ListenerReconcile: Equatable {
    /// For each current listener, in order, the index of the next config's listener it serves as, or nil: it closes.
    let keptAs: [Int?]
    /// The next config's listeners no current socket serves, in config order: opened.
    let opened: [Int]

    init(current: [ListenerIdentity], next: [ListenerIdentity]) {
        keptAs = current.map { l in next.firstIndex(of: l) }
        let served = Set(keptAs.compactMap { $0 })
        opened = next.indices.filter { !served.contains($0) }
    }
}

/// Kept in order: the sockets a reload keeps first, as they were, then the ones it opened.
final class ListenerSet {
    private(set) var all: [Listener] = []

    /// The open socket of the listener named `name`, if this loop still has one.
    func named(_ name: String) -> Listener? { all.first { $0.name == name } }

    /// Keeps the sockets of listeners `next` leaves unchanged (updating their settings), closes the
    /// others (`closed` drains their connections), then opens the new ones. Throws on the first that
    /// cannot be opened; those opened before it stay open and listed.
    func install(_ next: ProxySnapshot, proxy: ProxyLoop, closed: (Listener) -> Void) throws {
        let nextIdentities = next.listeners.map { ListenerIdentity(name: $0.name, address: $0.address, tls: $0.tls != nil) }
        let plan = ListenerReconcile(
            current: all.map { ListenerIdentity(name: $0.name, address: $0.address, tls: $0.tls != nil) },
            next: nextIdentities)
        let maxConnections = { (name: String) in next.config.listeners.first { $0.name == name }?.maxConnections }
        var kept: [Listener] = []
        for (l, j) in zip(all, plan.keptAs) {
            guard let j else {
                l.close()
                closed(l)
                continue
            }
            let settings = next.listeners[j]
            l.tls = settings.tls
            l.http2 = settings.http2
            l.balance = settings.balance
            l.maxConnections = maxConnections(l.name)
            kept.append(l)
        }
        all = kept
        for j in plan.opened {
            let l = next.listeners[j]
            all.append(
                try Listener(
                    name: l.name, address: l.address, tls: l.tls, http2: l.http2, balance: l.balance,
                    maxConnections: maxConnections(l.name), proxy: proxy))
        }
    }

    /// Closes every socket (a drain, a failed start or the loop's stop).
    func closeAll() {
        for l in all { l.close() }
        all.removeAll()
    }
}
