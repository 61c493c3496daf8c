// Binding an exchange to an upstream connection: an idle pooled one, or a fresh non-blocking connect.
import EventLoop

extension ProxyLoop {
    /// A connection of `pool` bound to `owner`, with its connect or response deadline running; or the
    /// failure to answer with (counted against the endpoint when it refused or failed).
    func bindUpstream(pool: UpstreamPool, reuse: Bool, owner: UpstreamOwner) -> Result<UpstreamConnection, ProxyFailure> {
        if reuse, let idle = pool.takeIdle() {
            idle.cancelDeadline()
            idle.owner = owner
            responseDeadlines.arm(idle, now: loop.now)
            return .success(idle)
        }
        let fd: SocketDescriptor, connected: Bool
        do { (fd, connected) = try pool.connect(now: loop.now) } catch { return .failure(error) }
        let up = UpstreamConnection(fd: fd, pool: pool, proxy: self, connected: connected)
        do {
            try loop.reactor.register(fd, up, interest: Reactor.readable | Reactor.writable | Reactor.readHangup | Reactor.edgeTriggered)
        } catch {
            fd.close()
            return .failure(.resourceExhausted)
        }
        up.owner = owner
        if connected {
            responseDeadlines.arm(up, now: loop.now)
        } else {
            connectDeadlines.arm(up, now: loop.now)
        }
        return .success(up)
    }
}

extension UpstreamPool {
    /// Starts a non-blocking connect to the endpoint (HTTP/1.1 and HTTP/2 connections alike): the
    /// socket and whether it connected at once; or the failure to answer with (counted against the
    /// endpoint when it refused or failed, not when the proxy ran out of descriptors).
    func connect(now: UInt64) throws(ProxyFailure) -> (SocketDescriptor, Bool) {
        do {
            return try SocketDescriptor.connect(to: address)
        } catch let error where error == .connectionRefused {
            recordFailure(now: now)
            throw .connectRefused
        } catch let error where error == .tooManyOpenFiles || error == .fileTableOverflow || error == .noBuffers {
            throw .resourceExhausted
        } catch {
            recordFailure(now: now)
            throw .connectFailed
        }
    }
}

extension UpstreamConnection {
    /// Finishes a non-blocking connect once the socket reported writable (or hung up): nil when
    /// connected (the response deadline now runs), else the failure (counted against the endpoint
    /// unless the failure is the proxy's own). A connect that succeeds does not end the endpoint's
    /// failure streak: an endpoint that accepts and then resets every connection is failing. A TLS connection reports this only once its handshake
    /// ended (UpstreamConnection+TLS.swift), so here its outcome is already known.
    func completeConnect() -> ProxyFailure? {
        let failure: ProxyFailure?
        if case .none = tlsPhase { failure = fd.pendingError().map(ProxyFailure.connect) } else { failure = tlsSetupFailure }
        if let failure {
            if failure.kind != nil { pool.recordFailure(now: proxy.loop.now) }
            return failure
        }
        connected = true
        proxy.responseDeadlines.arm(self, now: proxy.loop.now)
        return nil
    }
}
