// An HTTP/1.1 client connection after a 101: the exchange's two sockets as a byte tunnel (see TunnelFlow).
import EventLoop
import HTTP

extension ClientConnection {
    /// The upstream switched protocols: the 101 head is queued for the client, and from here every byte
    /// of either side goes to the other. The exchange's outcome is recorded now, once: the 101 is a
    /// response like any other for the arm's counters, its latency the time to its head, so a tunnel's
    /// life never reaches the judges' latencies; that life is counted apart when it ends (`endTunnel`).
    /// The arm stays the one chosen at the head, and the upstream connection is never pooled again.
    func switchToTunnel(_ exchange: H1Exchange, _ buffer: ByteBuffer, into out: ByteBuffer) {
        // A sticky route's cookie goes with the 101 too: the client's next connection stays on this arm.
        let cookies = exchange.cookie.flatMap { proxy.affinityCookies($0, line: true) }
        defer { if let cookies { proxy.loop.buffers.give(cookies.buffer) } }
        guard let up = exchange.upstream,
            let n = HeadWriter.writeResponse(
                exchange.response, source: buffer.readable, chunked: false, connection: .upgrade,
                proxyFields: cookies?.buffer.readable ?? UnsafeRawBufferPointer(start: nil, count: 0), armField: exchange.armField,
                into: out.writable)
        else {
            failUpstream(exchange, .invalidResponse)
            return
        }
        out.commit(n)
        // What follows the head in `buffer` is the new protocol's first bytes; what follows the request
        // in `input` (a client that did not wait for the 101) goes upstream the same way.
        buffer.consume(exchange.response.headLength)
        let now = proxy.loop.now
        up.pool.recordResponse(status: exchange.response.status, now: now)
        exchange.tunnelShard = exchange.shard
        exchange.recordOutcome(status: exchange.response.status, failure: nil, now: now)
        exchange.tunnelShard?.tunnelOpened()
        exchange.tunnel = TunnelFlow(now: now)
        up.cancelDeadline()
        state = .tunneling(H1Exchange.Handle(exchange))
        proxy.tunnelDeadlines.arm(self, now: now)
    }

    /// Moves what either side's readiness allows; true when something moved.
    func stepTunnel(_ exchange: H1Exchange) -> Bool {
        guard let up = exchange.upstream else { return false }
        let sent = pumpTunnel(exchange, .toUpstream, up)
        guard case .tunneling = state else { return true }
        let received = pumpTunnel(exchange, .toClient, up)
        guard case .tunneling = state else { return true }
        if exchange.tunnel.isDone {
            close()
            return true
        }
        return sent || received
    }

    /// One step of `direction` (see `TunnelFlow.next`). Client → upstream bytes wait in `input`;
    /// upstream → client bytes in `fromUpstream`, behind the 101 head in `output` at first.
    private func pumpTunnel(_ exchange: H1Exchange, _ direction: TunnelFlow.Direction, _ up: UpstreamConnection) -> Bool {
        let toUpstream = direction == .toUpstream
        let pending =
            toUpstream
            ? input?.readableCount ?? 0 : (output?.readableCount ?? 0) + (exchange.fromUpstream?.readableCount ?? 0)
        switch exchange.tunnel.next(direction, pending: pending) {
        case .read:
            let read =
                toUpstream
                ? readTunnel(exchange, direction, from: transport, into: &input, readable: &readable, hungUp: peerHungUp)
                : readTunnel(
                    exchange, direction, from: up.transport, into: &exchange.fromUpstream, readable: &up.readable, hungUp: up.hungUp)
            // Closed only here, once the buffer and flag lent to the read are given back.
            if read == nil { tunnelFailed("read") }
            return read ?? true
        case .write:
            return toUpstream ? writeTunnelToUpstream(up) : writeTunnelToClient(exchange)
        case .shutdown:
            // The source's end of stream, passed on once every byte before it was written: a half-close.
            (toUpstream ? up.transport : transport).shutdownWrite()
            exchange.tunnel.shutDown(direction)
            return true
        case .finished:
            return false
        }
    }

    /// Reads one side into its direction's buffer, which holds nothing (`TunnelFlow` reads only then).
    /// True when it read (bytes or the end of stream), nil when the read failed.
    private func readTunnel(
        _ exchange: H1Exchange, _ direction: TunnelFlow.Direction, from source: ClientTransport, into slot: inout ByteBuffer?,
        readable: inout Bool, hungUp: Bool
    ) -> Bool? {
        guard readable else { return false }
        let buffer = slot ?? proxy.loop.buffers.take()
        slot = buffer
        buffer.clear()
        let space = buffer.writableCount
        do {
            switch try source.read(into: buffer.writable) {
            case .wouldBlock:
                readable = false
                return false
            case .value(let n):
                buffer.commit(n)
                exchange.tunnel.received(direction, count: n, now: proxy.loop.now)
                // A short read drained the socket, unless a hang-up says its end is still to be read.
                if n == 0 || (n < space && !hungUp) { readable = false }
                return true
            }
        } catch {
            return nil
        }
    }

    private func writeTunnelToUpstream(_ up: UpstreamConnection) -> Bool {
        guard up.writable, let input else { return false }
        do {
            return try up.transport.write(input, writable: &up.writable) > 0
        } catch {
            tunnelFailed("upstream write")
            return true
        }
    }

    /// The 101 head (until sent) and the upstream's bytes, in one write where possible.
    private func writeTunnelToClient(_ exchange: H1Exchange) -> Bool {
        guard writable else { return false }
        let empty = UnsafeRawBufferPointer(start: nil, count: 0)
        let head = output?.readable ?? empty
        let body = exchange.fromUpstream?.readable ?? empty
        do {
            switch try transport.write(head, body, scratch: proxy.tlsRecordScratch) {
            case .wouldBlock:
                writable = false
                return false
            case .value(let n):
                let fromHead = min(n, head.count)
                output?.consume(fromHead)
                exchange.fromUpstream?.consume(n - fromHead)
                exchange.bytesToClient &+= UInt64(n)
                if n < head.count + body.count { writable = false }
                return n > 0
            }
        } catch {
            tunnelFailed("client write")
            return true
        }
    }

    /// A side of the tunnel failed (a reset, mostly): nothing can be answered any more, both close.
    private func tunnelFailed(_ what: StaticString) {
        proxy.log.debug("tunnel ended by a failed \(what)")
        close()
    }

    /// `timeouts.tunnel` passed since the deadline was armed: closed if no byte moved since, else armed again.
    func tunnelDeadlinePassed(_ exchange: H1Exchange) {
        let list = proxy.tunnelDeadlines
        switch exchange.tunnel.idleCheck(now: proxy.loop.now, timeout: list.duration) {
        case .expired:
            proxy.log.debug("tunnel closed after timeouts.tunnel without a byte")
            close()
        case .rearm(let from):
            list.arm(self, now: from)
        }
    }

    /// The tunnel's life goes to its arm's metrics, once (the connection is closing).
    func endTunnel(_ exchange: H1Exchange) {
        guard let shard = exchange.tunnelShard else { return }
        exchange.tunnelShard = nil
        shard.tunnelClosed(durationNanoseconds: proxy.loop.now &- exchange.tunnel.openedAt)
    }
}
