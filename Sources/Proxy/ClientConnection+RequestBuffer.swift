// limits.requestBuffer: a small request body is read whole before an upstream is chosen, so a slow client holds no upstream connection for it.
import EventLoop
import HTTP

extension ClientConnection {
    /// Body bytes to hold before connecting (`H1ExchangeRules.bodyToBuffer`); 0 for no buffering.
    func bodyToBuffer(_ exchange: H1Exchange) -> Int {
        H1ExchangeRules.bodyToBuffer(
            limit: exchange.snapshot.config.limits.requestBuffer, expectsContinue: exchange.request.expectsContinue,
            bufferSize: proxy.loop.buffers.bufferSize, headLength: exchange.request.headLength, framing: exchange.request.framing)
    }

    /// Reads body bytes into `input` behind the head until the target is reached (for a chunked body:
    /// until it ended, or the target); then the exchange starts with the body already at hand. The
    /// wait is under the request-body windows (`ClientConnection+RequestBody.swift`).
    func stepBufferingBody(_ exchange: H1Exchange) -> Bool {
        let input = self.input ?? proxy.loop.buffers.take()
        self.input = input
        let held = input.readableCount - exchange.request.headLength
        let target = bodyToBuffer(exchange)
        if held >= target || bodyEnded(exchange, in: input) {
            beginExchange(exchange)
            return true
        }
        if case .chunked = exchange.request.framing, let error = chunkedError(exchange, in: input) {
            // Refused before any upstream is chosen.
            respond(status: error.status, message: error.reason)
            return true
        }
        guard readable else { return false }
        return readRequestBody(exchange, limit: target - held) == .read
    }

    /// A chunked body held in `input` ended (its last chunk and trailer section are there).
    private func bodyEnded(_ exchange: H1Exchange, in input: ByteBuffer) -> Bool {
        guard case .chunked = exchange.request.framing else { return false }
        var scanner = ChunkedScanner()
        if case .done = scanner.scan(UnsafeRawBufferPointer(rebasing: input.readable[exchange.request.headLength...])) { return true }
        return false
    }

    private func chunkedError(_ exchange: H1Exchange, in input: ByteBuffer) -> HTTPParseError? {
        var scanner = ChunkedScanner()
        if case .error(let e) = scanner.scan(UnsafeRawBufferPointer(rebasing: input.readable[exchange.request.headLength...])) { return e }
        return nil
    }
}
