// Where an HTTP/2 stream meets the access log: its fields captured when routed, a refusal's line written with its reason.
import HTTP

extension H2Stream {
    /// Copies the request's fields for its line (only while the log is on: the caller tests `isOn`).
    func captureForLog(source: UnsafeRawBufferPointer) {
        let target = request.fields.target.map { source.slice($0) } ?? UnsafeRawBufferPointer(start: nil, count: 0)
        let now = proxy.loop.now
        let logger = proxy.accessLog
        logCapture = connection.peerText.withUnsafeBytes { peer in
            request.withView(source: source) { logger.capture($0, target: target, client: peer, proto: "HTTP/2.0", now: now) }
        }
    }

    /// The proxy answers the stream itself: its line names why.
    func logRefusal(_ failure: ProxyFailure) {
        if logCapture != nil { endLogCapture(status: failure.status, failure: failure.logReason) }
    }

    /// Writes the line of the stream's capture (the caller tested that there is one); out of line, so
    /// that a stream without one pays only that test.
    @inline(never)
    func endLogCapture(status: Int?, failure: String?) {
        guard let capture = logCapture else { return }
        logCapture = nil
        capture.end(
            status: status, failure: failure, bytesToClient: bytesToClient, endpoint: relayingHTTP1?.upstream?.pool, now: proxy.loop.now)
    }
}
