// A loop's own SO_REUSEPORT listening socket: accepts in bounded batches, stops at its connection limits and backs off when out of descriptors.
import Config
import EventLoop
import Glibc
import Logging
import Telemetry
import TLS

final class Listener: Pollable {
    let name: String
    let address: SocketAddress
    let fd: SocketDescriptor
    /// Replaced on reload, so a swapped certificate serves the next handshake.
    var tls: TLSContext?
    /// h2c with prior knowledge on a plain listener, ALPN "h2" on a TLS one.
    var http2: Bool
    /// Replaced on reload.
    var balance: AcceptBalance
    /// Replaced on reload: this listener's own limit (all loops), on top of the proxy's.
    var maxConnections: Int?
    /// Shared by every loop's socket of this name: the open count the limit is checked against.
    let gauge: ListenerGauge
    /// Strong: a read costs no retain; the loop closes what is still open when it stops (no cycle outlives it).
    let proxy: ProxyLoop
    private var paused = Pause.no
    /// A shortage of descriptors was logged and no accept succeeded since: one warning per shortage,
    /// not one per 100 ms retry.
    private var shortageLogged = false
    /// Reaching a connection limit is logged once per socket: under sustained load it happens each time
    /// a connection closes, and `canarygate_listener_limited_total` counts it.
    private var limitLogged = false

    /// Why the socket is not watched. Both wait on the loop's 100 ms backoff list: a limit frees up
    /// when connections close, on this loop or another, so it is checked again then rather than signalled.
    private enum Pause {
        case no
        /// accept failed with EMFILE/ENFILE (or no memory): the connection waits in the backlog.
        case outOfDescriptors
        /// The listener's or the proxy's `maxConnections` is reached.
        case atLimit
    }

    /// Accepts per readiness event, so one busy listener cannot starve the loop's other sockets.
    private static let acceptBatch = 64

    init(
        name: String, address: SocketAddress, tls: TLSContext?, http2: Bool, balance: AcceptBalance, maxConnections: Int?,
        proxy: ProxyLoop
    ) throws(Errno) {
        self.name = name
        self.maxConnections = maxConnections
        self.gauge = proxy.metrics.listener(name)
        self.http2 = http2
        self.balance = balance
        self.tls = tls
        self.address = address
        self.proxy = proxy
        self.fd = try SocketDescriptor.listen(on: address, reusePort: true)
        // Accepted sockets inherit TCP_NODELAY from the listening one (Linux): one setsockopt per listener
        // instead of one per connection (see `ProxyLoop.adopt` for why responses need it).
        do { try fd.setOption(Int32(IPPROTO_TCP), TCP_NODELAY, 1) } catch {
            fd.close()
            throw error
        }
        super.init()
        // Level-triggered: connections left in the backlog after a batch are reported again.
        do { try proxy.loop.reactor.register(fd, self, interest: Reactor.readable) } catch {
            fd.close()
            throw error
        }
    }

    override func handleEvent(_ events: UInt32) {
        for _ in 0..<Self.acceptBatch {
            if atConnectionLimit {
                gauge.limited.add(1, ordering: .relaxed)
                if !limitLogged {
                    limitLogged = true
                    proxy.log.notice(
                        """
                        listener \(name): connection limit reached (listener \(maxConnections.map(String.init) ?? "none"), \
                        proxy \(proxy.admission.maxConnections)); new connections wait in the backlog (logged once per loop)
                        """)
                }
                pause(.atLimit)
                return
            }
            var peer: SocketAddress?
            do {
                switch try fd.accept(peer: &peer) {
                case .wouldBlock: return
                case .value(let client):
                    shortageLogged = false
                    proxy.accepted(client, peer: peer!, on: self)
                }
            } catch let error where error.isDescriptorShortage || error == .noBuffers || error == .noMemory {
                // The pending connection stays in the backlog and the level-triggered listener would fire
                // again at once: stop watching it for a moment instead of spinning. It is served once
                // descriptors free up (accepting it with a spare only to close it would turn a passing
                // shortage into an error for the client; `maxConnections` keeps this rare).
                if !shortageLogged {
                    shortageLogged = true
                    proxy.log.warning("accept on \(name): \(error); retrying every 100 ms")
                }
                pause(.outOfDescriptors)
                return
            } catch {
                // ECONNABORTED and friends concern one connection only.
                continue
            }
        }
    }

    /// This listener's own limit or the proxy's is reached (see `ConnectionAdmission.atLimit`).
    private var atConnectionLimit: Bool { proxy.admission.atLimit(gauge, listenerLimit: maxConnections) }

    private func pause(_ reason: Pause) {
        guard case .no = paused else { return }
        paused = reason
        try? proxy.loop.reactor.modify(fd, self, interest: 0)
        proxy.listenerBackoff.arm(self, now: proxy.loop.now)
    }

    override func handleDeadline() {
        // Still full: keep waiting without a readiness event (each would find the limit again).
        if case .atLimit = paused, atConnectionLimit {
            proxy.listenerBackoff.arm(self, now: proxy.loop.now)
            return
        }
        paused = .no
        try? proxy.loop.reactor.modify(fd, self, interest: Reactor.readable)
    }

    func close() {
        cancelDeadline()
        proxy.loop.reactor.deregister(self)
        fd.close()
    }
}
