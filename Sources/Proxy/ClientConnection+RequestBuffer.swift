// limits.requestBuffer: a small request body is read whole before an upstream is chosen, so a slow client holds no upstream connection for it.
import EventLoop
import HTTP

extension ClientConnection {
    /// Enters `.bufferingBody` when the request has a body to buffer; false: the exchange starts now.
    /// Not for `Expect: 100-continue` (the client waits for the upstream's 100 before it sends the body).
    func startBufferingBody() -> Bool {
        guard bufferTarget() > 0 else { return false }
        state = .bufferingBody
        return true
    }

    /// Body bytes to hold before connecting: the whole body if it fits under the limit and in `input`
    /// after the head, else as much as does (the rest then streams). 0 for no buffering.
    private func bufferTarget() -> Int {
        let limit = snapshot.config.limits.requestBuffer
        guard limit > 0, !request.expectsContinue else { return 0 }
        let room = min(limit, proxy.loop.buffers.bufferSize - request.headLength)
        switch request.framing {
        case .none, .untilClose: return 0
        case .contentLength(let n): return Int(min(n, UInt64(max(0, room))))
        case .chunked: return max(0, room)
        }
    }

    /// Reads body bytes into `input` behind the head until the target is reached (for a chunked body:
    /// until it ended, or the target); then the exchange starts with the body already at hand. The
    /// wait is under the request-body windows (`ClientConnection+RequestBody.swift`).
    func stepBufferingBody() -> Bool {
        let input = self.input ?? proxy.loop.buffers.take()
        self.input = input
        let held = input.readableCount - request.headLength
        let target = bufferTarget()
        if held >= target || bodyEnded(in: input) {
            beginExchange()
            return true
        }
        if case .chunked = request.framing, let error = chunkedError(in: input) {
            // Refused before any upstream is chosen.
            respond(status: error.status, message: error.reason)
            return true
        }
        guard readable else { return false }
        if input.writableCount == 0 { input.compact() }
        let wanted = min(input.writableCount, target - held)
        do {
            switch try transport.read(into: UnsafeMutableRawBufferPointer(rebasing: input.writable[0..<wanted])) {
            case .wouldBlock:
                readable = false
                return false
            case .value(0):
                proxy.log.debug("client closed during request body")
                close()
                return false
            case .value(let n):
                input.commit(n)
                requestBodyRead &+= UInt64(n)
                if n < wanted && !peerHungUp { readable = false }
                return true
            }
        } catch {
            close()
            return false
        }
    }

    /// A chunked body held in `input` ended (its last chunk and trailer section are there).
    private func bodyEnded(in input: ByteBuffer) -> Bool {
        guard case .chunked = request.framing else { return false }
        var scanner = ChunkedScanner()
        if case .done = scanner.scan(UnsafeRawBufferPointer(rebasing: input.readable[request.headLength...])) { return true }
        return false
    }

    private func chunkedError(in input: ByteBuffer) -> HTTPParseError? {
        var scanner = ChunkedScanner()
        if case .error(let e) = scanner.scan(UnsafeRawBufferPointer(rebasing: input.readable[request.headLength...])) { return e }
        return nil
    }
}
