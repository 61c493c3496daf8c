// The request-body deadline of an HTTP/1.1 exchange: windows of timeouts.requestBody while the proxy waits for body bytes.
import HTTP
import Telemetry

extension ClientConnection {
    /// The proxy is waiting on the client for body bytes: the upstream took the head and every body byte
    /// read so far, and the body is not complete. (Bytes held for an upstream that is not taking them,
    /// or a connect in progress, are the upstream's wait, not the client's.)
    private var awaitsClientBody: Bool {
        if state == .bufferingBody { return true }
        guard let up = upstream, up.connected else { return false }
        return (headOut?.isEmpty ?? true) && requestPending == 0 && !requestComplete && !requestBody.isFullyClassified
    }

    /// Opens a window when the wait for the client's body begins, closes it when the wait ends. Called
    /// whenever `drive` ran out of progress during an exchange. Another deadline of the connection (the
    /// client not reading our response) keeps precedence: the window waits until it is gone.
    func updateRequestBodyWindow() {
        if awaitsClientBody {
            guard requestBodyWindow == nil, !hasDeadline else { return }
            let now = proxy.loop.now
            requestBodyWindow = RequestBodyWindow(startedAt: now, bytesAtStart: requestBodyRead)
            proxy.requestBodyDeadlines.arm(self, now: now)
        } else if requestBodyWindow != nil {
            requestBodyWindow = nil
            cancelDeadline()
        }
    }

    /// A window's deadline passed. Enough bytes: the next window starts. Too few: the exchange ends, as
    /// the client's doing — 408 if no response started (else the connection is cut), the upstream
    /// connection closed (the request on it is incomplete), and the outcome recorded as a downstream
    /// abort, like a client that went away: `canarygate_downstream_aborts_total`, never a failure of
    /// the arm (the arm did nothing wrong; the judges must not roll back over slow clients).
    func requestBodyWindowEnded(_ window: RequestBodyWindow) {
        let now = proxy.loop.now
        let minRate = snapshot.config.limits.minRequestBodyRate
        if window.isMet(now: now, bytesRead: requestBodyRead, minRate: minRate) {
            drive()
            return
        }
        let received = requestBodyRead &- window.bytesAtStart
        proxy.log.info("408 request body too slow: \(received) bytes in \((now &- window.startedAt) / 1_000_000) ms, below limits.minRequestBodyRate \(minRate) B/s")
        recordOutcome(status: nil, failure: nil)
        if !responseStarted && output?.isEmpty != false {
            respond(status: 408, message: "request body too slow")
            drive()
        } else {
            close()
        }
    }
}
