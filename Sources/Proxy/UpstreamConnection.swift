// A connection to an upstream endpoint: bound to one client exchange at a time, otherwise idle in its pool.
import EventLoop

final class UpstreamConnection: Pollable {
    let fd: SocketDescriptor
    /// Strong: a reload may retire the pool while this connection is busy; the pool must outlive it.
    /// (While idle, pool → connection → pool is a cycle that `closeAll`/`forget` break.)
    let pool: UpstreamPool
    unowned(unsafe) let proxy: ProxyLoop
    /// The exchange using this connection; nil while idle in the pool.
    var owner: UpstreamOwner?
    var connected: Bool
    var readable = false
    var writable = false
    var hungUp = false
    /// Requests completed on this connection: a reused connection may be stale, a fresh one may not.
    var completedExchanges = 0
    private(set) var isClosed = false

    init(fd: SocketDescriptor, pool: UpstreamPool, proxy: ProxyLoop, connected: Bool) {
        self.fd = fd
        self.pool = pool
        self.proxy = proxy
        self.connected = connected
        self.writable = connected
    }

    override func handleEvent(_ events: UInt32) {
        if let owner {
            if events & (Reactor.readable | Reactor.readHangup | Reactor.hangup | Reactor.error) != 0 { readable = true }
            if events & (Reactor.readHangup | Reactor.hangup | Reactor.error) != 0 { hungUp = true }
            if events & Reactor.writable != 0 { writable = true }
            owner.upstreamReady()
        } else if events & (Reactor.readable | Reactor.readHangup | Reactor.hangup | Reactor.error) != 0 {
            // An idle keep-alive connection has nothing to say: data or a hang-up means the upstream closed it.
            pool.forget(self)
            close()
        }
    }

    override func handleDeadline() {
        if let owner {
            owner.upstreamDeadlinePassed()
        } else {
            pool.forget(self)
            close()
        }
    }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        cancelDeadline()
        proxy.loop.reactor.deregister(self)
        fd.close()
        owner = nil
    }
}
