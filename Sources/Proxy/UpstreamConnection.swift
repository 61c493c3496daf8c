// A connection to an upstream endpoint: bound to one client exchange at a time, otherwise idle in its pool.
import EventLoop
import TLS

final class UpstreamConnection: Pollable {
    let fd: SocketDescriptor
    /// How the exchange reads and writes: on the socket, or through the TLS session (see UpstreamConnection+TLS.swift).
    let transport: ClientTransport
    /// nil for plain TCP; for TLS, how far the connect and handshake got.
    var tlsPhase: UpstreamTLSPhase?
    /// Strong: a reload may retire the pool while this connection is busy; the pool must outlive it.
    /// (While idle, pool → connection → pool is a cycle that `closeAll`/`forget` break.)
    let pool: UpstreamPool
    /// Strong: a read costs no retain; the loop closes what is still open when it stops (no cycle outlives it).
    let proxy: ProxyLoop
    /// The exchange using this connection; nil while idle in the pool.
    var owner: UpstreamOwner?
    var connected: Bool
    var readable = false
    var writable = false
    /// The upstream ended its side: the socket hung up, or (TLS) its close_notify was read. The latter
    /// may arrive behind the last response bytes in one read: flagging it keeps the exchange reading
    /// (a short read otherwise means drained) until it sees the end of stream no event would report.
    var hungUp: Bool {
        get {
            if socketHungUp { return true }
            if case .tls(_, let session) = transport { return session.receivedCloseNotify }
            return false
        }
        set { socketHungUp = newValue }
    }
    private var socketHungUp = false
    /// Requests completed on this connection: a reused connection may be stale, a fresh one may not.
    var completedExchanges = 0
    private(set) var isClosed = false

    init(fd: SocketDescriptor, pool: UpstreamPool, proxy: ProxyLoop, connected: Bool) {
        self.fd = fd
        self.pool = pool
        self.proxy = proxy
        (transport, tlsPhase) = Self.makeTransport(fd: fd, pool: pool, proxy: proxy)
        // A TLS connection is usable only after its handshake: until then the owner is not woken
        // (see `advanceTLSSetup`), whether or not the TCP connect already completed.
        self.connected = connected && pool.tls == nil
        self.writable = self.connected
    }

    override func handleEvent(_ events: UInt32) {
        if let owner {
            if isSettingUpTLS {
                guard advanceTLSSetup(events) else { return }
            } else {
                if events & (Reactor.readable | Reactor.readHangup | Reactor.hangup | Reactor.error) != 0 { readable = true }
                if events & (Reactor.readHangup | Reactor.hangup | Reactor.error) != 0 { hungUp = true }
                if events & Reactor.writable != 0 { writable = true }
            }
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
        // close_notify, best effort (a no-op unless the handshake completed and nothing failed).
        if case .tls(_, let session) = transport { session.shutdown() }
        fd.close()
        owner = nil
    }
}
