// Which loop serves a newly accepted connection when its listener balances by open connections.
import Config

enum AcceptBalancer {
    /// The index in `peerCounts` of the loop that should take the connection, or nil to keep it.
    /// `mine` already counts the new connection; a peer counted `Int.max` is never chosen. Handing over only at a difference of two or more
    /// keeps every loop within one connection of the others (accepts arriving one at a time) without
    /// moving connections back and forth between loops that are level.
    static func target(mine: Int, peerCounts: some Sequence<Int>) -> Int? {
        var best: (index: Int, count: Int)?
        for (i, count) in peerCounts.enumerated() where count < (best?.count ?? Int.max) {
            best = (i, count)
        }
        guard let best, mine - best.count >= 2 else { return nil }
        return best.index
    }
}
