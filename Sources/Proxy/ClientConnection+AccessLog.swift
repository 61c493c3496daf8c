// Where an HTTP/1.1 request meets the access log: its fields captured when routed, a refusal's line written with its reason.
import HTTP

extension ClientConnection {
    /// Copies the request's fields for its line (only while the log is on: the caller tests `isOn`).
    func captureForLog(_ exchange: H1Exchange, source: UnsafeRawBufferPointer) {
        let target = source.slice(request.target)
        let proto: StaticString = request.versionMinor == 0 ? "HTTP/1.0" : "HTTP/1.1"
        let now = proxy.loop.now
        exchange.logCapture = peerText.withUnsafeBytes { peer in
            request.withView(source: source) { proxy.accessLog.capture($0, target: target, client: peer, proto: proto, now: now) }
        }
    }
}

extension H1Exchange {
    /// The proxy answers the request itself: its line names why (the arm's outcome, if any, is recorded apart).
    func logRefusal(_ failure: ProxyFailure, now: UInt64) {
        guard let capture = logCapture.take() else { return }
        capture.end(status: failure.status, failure: failure.logReason, bytesToClient: 0, endpoint: nil, now: now)
    }
}
