// One event loop's proxy: commands, reload, drain, accept and shutdown, over the owners of its listeners, upstreams, deadlines and lists.
import Config
import EventLoop
import Glibc
import HTTP
import HTTP2
import Logging
import Telemetry
import TLS

/// Created on its own thread and never touched by another; other threads talk to it through `handle`.
public final class ProxyLoop {
    public let loop: EventLoop
    public let index: Int
    let log: Logger
    let metrics: MetricsRegistry
    private(set) var snapshot: ProxySnapshot
    /// Each route's arms and split, and the endpoint pools they share.
    let upstreams = UpstreamDirectory()
    /// Each mirrored route's share, slots and counters on this loop.
    let mirrors = MirrorStation()
    /// This loop's listening sockets (SO_REUSEPORT: every loop has its own).
    let listeners = ListenerSet()
    public let control: LoopControl
    /// Set by a drain: no new connections, and every connection closes after its current request.
    private(set) var draining = false
    /// The connection limits and the balancing between loops.
    let admission: ConnectionAdmission

    /// One list per timeout kind (see LoopDeadlines); the properties below are the ones connections arm.
    private var deadlines: LoopDeadlines
    @inline(__always) var headerDeadlines: DeadlineList { deadlines.header }
    @inline(__always) var handshakeDeadlines: DeadlineList { deadlines.handshake }
    @inline(__always) var idleDeadlines: DeadlineList { deadlines.idle }
    /// One window of `timeouts.requestBody` while a request body is awaited (HTTP/1.1 connections, HTTP/2 streams).
    @inline(__always) var requestBodyDeadlines: DeadlineList { deadlines.requestBody }
    @inline(__always) var connectDeadlines: DeadlineList { deadlines.connect }
    @inline(__always) var responseDeadlines: DeadlineList { deadlines.response }
    @inline(__always) var upstreamIdleDeadlines: DeadlineList { deadlines.upstreamIdle }
    /// `timeouts.tunnel`: armed once per tunnel and re-armed only when it passes (see `TunnelFlow.idleCheck`).
    @inline(__always) var tunnelDeadlines: DeadlineList { deadlines.tunnel }
    @inline(__always) var listenerBackoff: DeadlineList { deadlines.listenerBackoff }
    @inline(__always) var lingerDeadlines: DeadlineList { deadlines.linger }
    /// Ticks every 100 ms while a route is managed: `sweepSlowInFlight`.
    private let slowSweep = SlowInFlightSweep()
    /// Frees the buffers and spare objects kept beyond what the last second needed.
    private let memoryTrim: MemoryTrim

    /// One TLS record's worth of plaintext: a response head and the start of its body are joined
    /// here to go out as one record (see `ClientTransport.write(_:_:scratch:)`).
    let tlsRecordScratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 16 * 1024, alignment: 16)

    /// Empty pipes for bodies spliced between plain-TCP sockets (ClientConnection+Splice.swift).
    let pipes = SplicePipePool(pipeCapacity: SpliceRules.pipeCapacity)

    /// New trace ids for requests whose trace the proxy starts (`tracing.traceparent: start`).
    var traceIDs = TraceIDGenerator()

    /// Blocks libnghttp2 allocates per stream, recycled for this loop's HTTP/2 sessions.
    let h2Memory = H2Memory()

    /// The access log's per-loop side (`accessLog:`); off without a ring or without the config section.
    let accessLog: AccessLogger

    /// Parser limits; copied from the snapshot so the hot path reads a stored property.
    private(set) var maxHeaderBytes: Int
    private(set) var maxHeaderCount: Int

    /// `accessLogRing`: this loop's ring to the access-log writer (nil: the loop never logs).
    public init(index: Int, snapshot: ProxySnapshot, metrics: MetricsRegistry, log: Logger, accessLogRing: AccessLogRing? = nil) throws {
        let limits = snapshot.config.limits
        // One buffer must hold a whole request head plus what we add to it (X-Forwarded-*).
        loop = try EventLoop(bufferSize: max(16 * 1024, limits.maxHeaderBytes + 1024))
        self.index = index
        self.log = log
        self.metrics = metrics
        self.snapshot = snapshot
        maxHeaderBytes = limits.maxHeaderBytes
        maxHeaderCount = limits.maxHeaderCount
        deadlines = LoopDeadlines(snapshot.config.timeouts, on: loop)
        memoryTrim = MemoryTrim(pool: loop.buffers, loop: loop, period: deadlines.memoryTrim)
        control = LoopControl(handle: loop.handle)
        accessLog = AccessLogger(ring: accessLogRing)
        accessLog.configure(snapshot.config.accessLog)
        admission = ConnectionAdmission(
            control: control,
            maxConnections: ConnectionBudget.maxConnections(snapshot.config, loops: metrics.loopCount))
        installRoutes(snapshot)
        do {
            try openListeners(snapshot)
        } catch {
            // The listeners already open hold this loop: close them, or a failed start leaks it and their fds.
            listeners.closeAll()
            throw error
        }
        control.servedGeneration.store(snapshot.generation, ordering: .releasing)
        loop.onWake = { [unowned self] in self.processCommands() }
        loop.afterEvents = { [unowned self] in self.flushDirty() }
        memoryTrim.trimSpares = { [unowned(unsafe) self] in self.trimSpares() }
        slowSweep.proxy = self
        armSweep()
    }

    deinit { tlsRecordScratch.deallocate() }

    private func processCommands() {
        for command in control.takeCommands() {
            switch command {
            case .install(let next): install(next)
            case .drain: beginDrain()
            case .closeIdle(let endpoints):
                for pool in upstreams.pools(of: endpoints) { pool.closeAll() }
            case .warm(let endpoints, let perEndpoint):
                warm(upstreams.pools(of: endpoints), perEndpoint: perEndpoint)
            case .peers(let all): admission.peers = all.filter { $0 !== control }
            case .adopt(let handed): adoptHanded(handed)
            }
        }
    }

    /// Switches new requests to `next`. Connections keep the snapshot their request started with.
    private func install(_ next: ProxySnapshot) {
        snapshot = next
        let limits = next.config.limits
        // Buffers were sized at start; a larger head limit than they hold needs a restart (the reload validator says so).
        maxHeaderBytes = min(limits.maxHeaderBytes, loop.buffers.bufferSize - 1024)
        maxHeaderCount = limits.maxHeaderCount
        spareExchanges.removeAll()
        admission.maxConnections = ConnectionBudget.maxConnections(next.config, loops: metrics.loopCount)
        deadlines.install(next.config.timeouts, on: loop)
        accessLog.configure(next.config.accessLog)
        installRoutes(next)
        armSweep()
        if !draining {
            do { try openListeners(next) } catch {
                log.error("reload: cannot open listener: \(error)")
            }
        }
        control.servedGeneration.store(next.generation, ordering: .releasing)
    }

    /// Keeps listeners whose name and address are unchanged, closes the others (draining their connections), opens the new ones.
    private func openListeners(_ next: ProxySnapshot) throws {
        try listeners.install(next, proxy: self) { drainConnections(acceptedBy: $0) }
    }

    private func beginDrain() {
        guard !draining else { return }
        draining = true
        listeners.closeAll()
        drainConnections(acceptedBy: nil)
    }

    /// Idle connections close, busy ones after their current response; HTTP/2 ones get GOAWAY.
    /// `listener` nil: every connection (a drain); else those of a listener a reload removed.
    private func drainConnections(acceptedBy listener: Listener?) {
        forEachClient { c in
            if listener == nil || c.listener === listener { c.drainRequested() }
        } http2: { c in
            if listener == nil || c.listener === listener { c.drainRequested() }
        }
    }

    /// Every client connection of this loop, HTTP/1.1 then HTTP/2 as registered: the one walk the drain,
    /// the shutdown and the in-flight sweep share.
    private func forEachClient(http1: (ClientConnection) -> Void, http2: (H2Connection) -> Void) {
        loop.reactor.forEachRegistered(http1, or: http2)
    }

    // MARK: slow in flight

    private func armSweep() {
        slowSweep.keepTicking(routes: snapshot.routes.byIndex, on: deadlines.sweep, now: loop.now)
    }

    /// Every 100 ms: marks and counts the exchanges in flight longer than their route's T (see `SlowInFlightSweep`),
    /// then arms the next tick while a route is managed.
    func sweepSlowInFlight() {
        if slowSweep.refillThresholds(routes: snapshot.routes.byIndex, runtimes: upstreams.routes) {
            let now = loop.now
            let threshold = { (shard: ArmShard) -> UInt64 in self.slowSweep.threshold(of: shard) }
            forEachClient { c in
                c.markIfSlow(now: now, threshold: threshold)
            } http2: { c in
                c.forEachStream { $0.markIfSlow(now: now, threshold: threshold) }
            }
        }
        armSweep()
    }

    /// Builds per-route state for `snapshot`, keeping the pools of endpoints that remain (see `UpstreamDirectory`).
    private func installRoutes(_ snapshot: ProxySnapshot) {
        upstreams.install(snapshot, metrics: metrics, loop: index, log: log) { startProbes($0, route: $1) }
        mirrors.install(routes: snapshot.routes.byIndex, runtimes: upstreams.routes)
    }

    /// Serves a connection `listener` accepted, or hands it to the loop with the fewest connections.
    func accepted(_ fd: SocketDescriptor, peer: SocketAddress, on listener: Listener) {
        if let target = admission.admit(on: listener.gauge, balance: listener.balance, generation: snapshot.generation) {
            target.send(
                .adopt(
                    HandedConnection(
                        fd: fd.raw, peer: peer, listener: listener.name, tls: listener.tls,
                        http2: listener.http2)))
            return
        }
        adopt(fd, peer: peer, tls: listener.tls, http2: listener.http2, listener: listener)
    }

    /// A connection a peer accepted, served with the settings its listener had then; closed if this
    /// loop no longer has a listener of that name (a drain, or a reload that removed it: as a drain
    /// would, since no request has arrived on it yet).
    private func adoptHanded(_ handed: HandedConnection) {
        let fd = SocketDescriptor(raw: handed.fd)
        guard !draining, let listener = listeners.named(handed.listener) else {
            fd.close()
            admission.closed(metrics.listener(handed.listener))
            return
        }
        adopt(fd, peer: handed.peer, tls: handed.tls, http2: handed.http2, listener: listener)
    }

    /// Takes ownership of an accepted client socket, already counted in `control.openConnections`.
    /// `listener` is the local listener of that name, whose removal by a reload drains the connection.
    private func adopt(_ fd: SocketDescriptor, peer: SocketAddress, tls: TLSContext?, http2: Bool, listener: Listener) {
        // Responses go out as soon as they are ready, in one write or several (a streamed body, a TLS
        // head record then a body record): with Nagle on, a second small write would wait ~40 ms for
        // the client's delayed ACK (measured: HTTPS keep-alive stalled at 44 ms per request). The
        // socket has TCP_NODELAY already: accepted sockets inherit it from the listener (`Listener.init`).
        var session: TLSSession?
        if let tls {
            do { session = try TLSSession(context: tls, fd: fd.raw) } catch {
                log.warning("TLS session: \(error)")
                fd.close()
                connectionClosed(listener)
                return
            }
        }
        let connection = ClientConnection(fd: fd, peer: peer, proxy: self, session: session, http2: http2, listener: listener)
        do {
            try loop.reactor.register(
                fd, connection, interest: Reactor.readable | Reactor.writable | Reactor.readHangup | Reactor.edgeTriggered)
        } catch {
            fd.close()
            connectionClosed(listener)
            return
        }
        // The header timeout runs from accept on plain connections; TLS ones get the handshake
        // timeout first, then the header timeout from the handshake's end.
        (session == nil ? headerDeadlines : handshakeDeadlines).arm(connection, now: loop.now)
    }

    /// Exchange objects of HTTP/1.1 connections gone idle or closed, reused by the next request of any
    /// connection with their arrays' capacity (an idle connection holds none). Emptied by a reload: an
    /// exchange's response parser keeps the header limits it was made with.
    private(set) var spareExchanges = SpareList<H1Exchange>(limit: 64)

    func takeExchange() -> H1Exchange {
        spareExchanges.take() ?? H1Exchange(snapshot: snapshot, maxHeaderBytes: maxHeaderBytes, maxHeaderCount: maxHeaderCount)
    }

    /// An exchange given back while its spares are full is let go only after the batch of events: the
    /// connection that gave it back may be closing inside its own exchange step, which borrows the
    /// exchange without a retain (`H1Exchange.Handle`), so freeing it there would free it under that
    /// step. Emptied by `flushDirty`, from the loop itself, where no step is on the stack.
    private var exchangesLetGo: [H1Exchange] = []

    func recycle(_ exchange: consuming H1Exchange) {
        if spareExchanges.count < spareExchanges.limit {
            spareExchanges.keep(exchange)
        } else {
            exchangesLetGo.append(exchange)
        }
    }

    /// Lets go of the spare objects, pipes and nghttp2 blocks no request took since the previous call
    /// (see `SpareList.trim`): a burst's leftovers are given back after a second or two of lower use.
    func trimSpares() -> (letGo: Int, kept: Int) {
        let letGo = spareExchanges.trim() + spareStreams.trim() + pipes.trim() + h2Memory.trim()
        let kept = spareExchanges.count + spareStreams.count + pipes.idleCount + h2Memory.freeBlocks
        return (letGo, kept)
    }

    /// HTTP/2 stream objects of ended streams, reused with their buffers' and arrays' capacity.
    private var spareStreams = SpareList<H2Stream>(limit: 1024)

    func takeH2Stream(for connection: H2Connection) -> H2Stream {
        spareStreams.take() ?? H2Stream(proxy: self, connection: connection)
    }

    func recycle(_ stream: H2Stream) {
        spareStreams.keep(stream)
    }

    /// A connection of `pool` (an HTTP/2 arm) with room for one more stream, opened if needed.
    func h2Connection(for pool: UpstreamPool) throws(ProxyFailure) -> H2UpstreamConnection {
        if let open = pool.h2Connections.first(where: { $0.acceptsStream }) { return open }
        let fresh = try H2UpstreamConnection(pool: pool, proxy: self)
        pool.h2Connections.append(fresh)
        return fresh
    }

    /// HTTP/2 connections with frames queued by another connection's events, flushed after each batch of events.
    private let dirtyDownstreams = DirtyList<H2Connection>()
    private let dirtyUpstreams = DirtyList<H2UpstreamConnection>()

    @inline(__always)
    func markDirty(_ connection: H2Connection) { dirtyDownstreams.mark(connection) }

    @inline(__always)
    func markDirty(_ connection: H2UpstreamConnection) { dirtyUpstreams.mark(connection) }

    /// HTTP/1.1 clients of HTTP/2 arms whose stream had events: driven after the loop's events.
    private let dirtyRelays = DirtyList<H1ToH2Relay>()

    @inline(__always)
    func markDirty(_ relay: H1ToH2Relay) { dirtyRelays.mark(relay) }

    /// The HTTP/2 connections until quiet (`flushUntilQuiet`), then the relays listed (a client step
    /// queues frames upstream) and the connections again, bounded alike; then lets go the exchanges given
    /// back beyond the spares. Without relays listed (every loop serving only HTTP/1.1 arms) and nothing to
    /// let go this costs two tests per batch of events.
    private func flushDirty() {
        DirtyList.flushUntilQuiet(dirtyDownstreams, dirtyUpstreams)
        var rounds = 0
        while !dirtyRelays.isEmpty && rounds < 16 {
            rounds += 1
            dirtyRelays.flushMarked()
            DirtyList.flushUntilQuiet(dirtyDownstreams, dirtyUpstreams)
        }
        if !exchangesLetGo.isEmpty { exchangesLetGo.removeAll(keepingCapacity: true) }
    }

    /// A client connection that turned out to speak HTTP/2 (prior-knowledge preface or ALPN "h2")
    /// continues as an `H2Connection` on the same socket and registration.
    func switchToHTTP2(_ connection: ClientConnection, input: ByteBuffer?) {
        let h2: H2Connection
        do {
            h2 = try H2Connection(
                fd: connection.fd, transport: connection.transport, peerText: connection.peerText,
                input: input, listener: connection.listener, proxy: self)
        } catch {
            // The client connection already let go of its state: the socket is closed here.
            log.warning("HTTP/2 session: \(error)")
            if let input { loop.buffers.give(input) }
            loop.reactor.deregister(connection)
            connection.fd.close()
            connectionClosed(connection.listener)
            return
        }
        connection.cancelDeadline()
        loop.reactor.transfer(connection, to: h2)
        idleDeadlines.arm(h2, now: loop.now)
        h2.drive()
        // A drain (or a reload removing the listener) that began while the preface was arriving.
        if draining || connection.closeAfterResponse { h2.drainRequested() }
    }

    /// A client connection of `listener` closed: it no longer counts against the connection limits.
    func connectionClosed(_ listener: Listener) { admission.closed(listener.gauge) }

    /// Picks the arm for a request of `route`, and an endpoint of it (see `UpstreamDirectory.pick`).
    /// Called only by `route(_:client:)`, which keeps the decision.
    @inline(__always)
    func pickArm(route: CompiledRoute) -> (arm: ArmRole, reason: ArmReason, pool: UpstreamPool, shard: ArmShard) {
        upstreams.pick(route: route, now: loop.now)
    }

    public func run() { loop.run() }

    /// Closes listeners, pooled connections and whatever the drain left open (the loop is stopping).
    /// Connections and streams hold their loop strongly (a read through an unowned reference costs a
    /// retain on every access, measured ~10 per request), so nothing may outlive this with a cycle.
    public func shutdown() {
        listeners.closeAll()
        upstreams.closeAll()
        upstreams.stopProbes()
        slowSweep.cancelDeadline()
        memoryTrim.cancelDeadline()
        // Clients first: their exchanges end as "client gone", as in a drain, not as upstream failures.
        forEachClient {
            $0.close()
        } http2: {
            $0.close()
        }
        loop.reactor.forEachRegistered({ (c: UpstreamConnection) in c.close() }, or: { (c: H2UpstreamConnection) in c.close() })
        spareStreams.removeAll()
        spareExchanges.removeAll()
        exchangesLetGo.removeAll()
        // Closing marks connections dirty, and no flush runs again to empty these lists.
        dirtyDownstreams.removeAll()
        dirtyUpstreams.removeAll()
        dirtyRelays.removeAll()
    }
}
