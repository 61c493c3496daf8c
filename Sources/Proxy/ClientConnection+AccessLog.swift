// Where an HTTP/1.1 request meets the access log: its fields captured when routed, a refusal's line written with its reason.
import HTTP

extension ClientConnection {
    /// Copies the request's fields for its line (only while the log is on: the caller tests `isOn`).
    func captureForLog(_ exchange: H1Exchange, source: UnsafeRawBufferPointer) {
        let target = source.slice(exchange.request.target)
        let proto: StaticString = exchange.request.versionMinor == 0 ? "HTTP/1.0" : "HTTP/1.1"
        let now = proxy.loop.now
        exchange.logCapture = peerText.withUnsafeBytes { peer in
            exchange.request.withView(source: source) { proxy.accessLog.capture($0, target: target, client: peer, proto: proto, now: now) }
        }
    }

    /// The proxy answers bytes that never made a request (an invalid head, a head not complete in
    /// time): a line without method or target, naming `reason`.
    func logRejection(status: Int, reason: String) {
        guard proxy.accessLog.isOn else { return }
        let now = proxy.loop.now
        let capture = peerText.withUnsafeBytes { peer in
            proxy.accessLog.capture(nil, target: UnsafeRawBufferPointer(start: nil, count: 0), client: peer, proto: "HTTP/1.1", now: now)
        }
        capture.end(status: status, failure: reason, bytesToClient: 0, endpoint: nil, now: now)
    }
}

extension H1Exchange {
    /// The proxy answers the request itself: its line names why (the arm's outcome, if any, is recorded apart).
    func logRefusal(_ failure: ProxyFailure, now: UInt64) {
        guard let capture = logCapture else { return }
        logCapture = nil
        capture.end(status: failure.status, failure: failure.logReason, bytesToClient: 0, endpoint: nil, now: now)
    }

    /// Writes the line of the exchange's capture (the caller tested that there is one); out of line, so
    /// that an exchange without one pays only that test.
    @inline(never)
    func endLogCapture(status: Int?, failure: String?, now: UInt64) {
        guard let capture = logCapture else { return }
        logCapture = nil
        capture.end(status: status, failure: failure, bytesToClient: bytesToClient, endpoint: upstream?.pool, now: now)
    }
}
