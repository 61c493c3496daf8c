// A loop's own SO_REUSEPORT listening socket: accepts in bounded batches and backs off when out of descriptors.
import Config
import EventLoop
import Logging
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
    /// Strong: a read costs no retain; the loop closes what is still open when it stops (no cycle outlives it).
    let proxy: ProxyLoop
    private var paused = false

    /// Accepts per readiness event, so one busy listener cannot starve the loop's other sockets.
    private static let acceptBatch = 64

    init(name: String, address: SocketAddress, tls: TLSContext?, http2: Bool, balance: AcceptBalance, proxy: ProxyLoop) throws(Errno) {
        self.name = name
        self.http2 = http2
        self.balance = balance
        self.tls = tls
        self.address = address
        self.proxy = proxy
        self.fd = try SocketDescriptor.listen(on: address, reusePort: true)
        super.init()
        // Level-triggered: connections left in the backlog after a batch are reported again.
        do { try proxy.loop.reactor.register(fd, self, interest: Reactor.readable) } catch {
            fd.close()
            throw error
        }
    }

    override func handleEvent(_ events: UInt32) {
        for _ in 0..<Self.acceptBatch {
            var peer: SocketAddress?
            do {
                switch try fd.accept(peer: &peer) {
                case .wouldBlock: return
                case .value(let client): proxy.accepted(client, peer: peer!, on: self)
                }
            } catch let error where error == .tooManyOpenFiles || error == .fileTableOverflow || error == .noBuffers || error == .noMemory {
                // The pending connection stays in the backlog and the level-triggered listener would fire
                // again at once: stop watching it for a moment instead of spinning.
                proxy.log.warning("accept on \(name): \(error); pausing the listener for 100ms")
                pause()
                return
            } catch {
                // ECONNABORTED and friends concern one connection only.
                continue
            }
        }
    }

    private func pause() {
        guard !paused else { return }
        paused = true
        try? proxy.loop.reactor.modify(fd, self, interest: 0)
        proxy.listenerBackoff.arm(self, now: proxy.loop.now)
    }

    override func handleDeadline() {
        paused = false
        try? proxy.loop.reactor.modify(fd, self, interest: Reactor.readable)
    }

    func close() {
        cancelDeadline()
        proxy.loop.reactor.deregister(self)
        fd.close()
    }
}
