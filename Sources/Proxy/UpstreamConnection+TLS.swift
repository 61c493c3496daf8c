// A TLS upstream connection's setup: the TCP connect checked, then a verified handshake, before its owner is woken.
import EventLoop
import TLS

/// How far a TLS upstream connection got. Its owner hears of readiness only once the setup ended
/// (`established` or `failed`), so the exchange code, which knows nothing of TLS, sees a connection
/// whose connect completed and calls `completeConnect()` as for plain TCP.
enum UpstreamTLSPhase {
    /// The non-blocking connect has not reported yet.
    case connecting(TLSSession)
    /// Connected; the handshake waits for the socket.
    case handshaking(TLSSession)
    /// Handshake done, the peer's certificate verified.
    case established
    /// The connect or the handshake failed: `completeConnect()` returns this.
    case failed(ProxyFailure)
}

extension UpstreamConnection {
    /// The transport and setup phase of a new connection to `pool`'s endpoint, secured as the pool says.
    static func makeTransport(fd: SocketDescriptor, pool: UpstreamPool, proxy: ProxyLoop) -> (ClientTransport, UpstreamTLSPhase?) {
        guard let tls = pool.tls else { return (.plain(fd), nil) }
        do {
            let session = try TLSSession(client: tls.context, fd: fd.raw, serverName: tls.serverName, resumption: pool.resumption)
            return (.tls(fd, session), .connecting(session))
        } catch {
            // Only allocation failures get here (the name was validated with the config).
            proxy.log.warning("upstream TLS session for \(tls.serverName): \(error)")
            return (.plain(fd), .failed(.resourceExhausted))
        }
    }

    /// The owner must wait: the connect or the handshake is still under way.
    var isSettingUpTLS: Bool {
        switch tlsPhase {
        case .connecting?, .handshaking?: return true
        case .established?, .failed?, nil: return false
        }
    }

    /// Why the setup failed, once it has.
    var tlsSetupFailure: ProxyFailure? {
        if case .failed(let failure)? = tlsPhase { return failure }
        return nil
    }

    /// Advances the setup on a readiness event; true when it just ended and the owner must be woken.
    /// On success the connection looks writable (and readable), on failure hung up: either way the
    /// owner's next step calls `completeConnect()`.
    func advanceTLSSetup(_ events: UInt32) -> Bool {
        switch tlsPhase {
        case .connecting(let session)?:
            guard events & (Reactor.writable | Reactor.hangup | Reactor.error) != 0 else { return false }
            if let error = fd.pendingError() { return endTLSSetup(.connect(error)) }
            tlsPhase = .handshaking(session)
            // The handshake gets a connect timeout of its own: a port that accepts but never answers
            // the ClientHello is as dead as one that never accepts.
            proxy.connectDeadlines.arm(self, now: proxy.loop.now)
            return stepHandshake(session)
        case .handshaking(let session)?:
            return stepHandshake(session)
        case .established?, .failed?, nil:
            return true
        }
    }

    private func stepHandshake(_ session: TLSSession) -> Bool {
        do {
            switch try session.handshake() {
            case .wantRead, .wantWrite:
                return false
            case .done:
                tlsPhase = .established
                writable = true
                // The handshake's reads took the socket's readable edge: anything the upstream sent
                // right behind its last handshake record would wait for an event that never comes.
                readable = true
                return true
            }
        } catch {
            let reason = session.verificationFailure.map { " (\($0))" } ?? ""
            proxy.log.warning(
                "upstream \(pool.configured): TLS handshake for server name \(pool.tls?.serverName ?? "?") failed: \(error)\(reason)")
            return endTLSSetup(.upstreamTLSFailed)
        }
    }

    private func endTLSSetup(_ failure: ProxyFailure) -> Bool {
        tlsPhase = .failed(failure)
        hungUp = true
        return true
    }
}

extension ProxyFailure {
    /// A non-blocking connect's error, as reported by the socket.
    static func connect(_ error: Errno) -> ProxyFailure {
        error == .connectionRefused ? .connectRefused : .connectFailed
    }
}
