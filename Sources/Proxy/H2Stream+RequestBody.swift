// The progress a stream's request body must make: windows of timeouts.requestBody, each bringing limits.minRequestBodyRate, else 408 or a reset.
import EventLoop
import HTTP2

/// The deadline of a stream's current body window, on `ProxyLoop.requestBodyDeadlines`. An object
/// of its own, made once per stream object: the stream's own deadline slot belongs to its HTTP/2
/// upstream's response deadline.
final class H2RequestBodyWindow: Pollable {
    unowned(unsafe) let stream: H2Stream
    /// The window running (`bytesAtStart` counts the stream's bytes received from the client).
    var window = RequestBodyWindow(startedAt: 0, bytesAtStart: 0)

    init(stream: H2Stream) {
        self.stream = stream
    }

    override func handleDeadline() { stream.requestBodyWindowEnded() }
}

extension H2Stream {
    /// The body is the client's to send: the request is not answered or dropped yet, the upstream is
    /// connected and took the head and every byte received. While bytes wait for the upstream, the
    /// client's flow-control window is held by the upstream, not the client, so that time is not
    /// counted (a new window opens after); nor is an upstream connect.
    /// A gRPC stream whose response is under way is exempt: a bidirectional stream's client may
    /// rightly send nothing for a long time.
    private var awaitingClientBody: Bool {
        let progress = request.progress
        guard !finished && !progress.ended && !progress.discardingBody && progress.unacknowledged == 0 else { return false }
        return roleAwaitsClientBody
    }

    /// Opens a window when the stream starts waiting on the client's body, closes it when it stops;
    /// called whenever the stream changes (from `advance`), so a running window is left running.
    func updateRequestBodyWindow() {
        if awaitingClientBody {
            guard !bodyWindow.hasDeadline else { return }
            let now = proxy.loop.now
            bodyWindow.window = RequestBodyWindow(startedAt: now, bytesAtStart: request.progress.bytesFromClient)
            proxy.requestBodyDeadlines.arm(bodyWindow, now: now)
        } else if bodyWindow.hasDeadline {
            bodyWindow.cancelDeadline()
        }
    }

    /// A window passed: enough bytes (`minRequestBodyRate` per second of it, and at least one) open
    /// the next; too few end the request. As for an HTTP/1.1 exchange, this is the client's doing:
    /// recorded as a downstream abort, like a client gone, never as a failure (or a latency) of the arm.
    func requestBodyWindowEnded() {
        guard awaitingClientBody else { return }
        let window = bodyWindow.window, now = proxy.loop.now
        let minRate = snapshot.config.limits.minRequestBodyRate
        if window.isMet(now: now, bytesRead: request.progress.bytesFromClient, minRate: minRate) {
            updateRequestBodyWindow()
            return
        }
        let elapsed = now &- window.startedAt, received = request.progress.bytesFromClient &- window.bytesAtStart
        proxy.log.info(
            "408 HTTP/2 request body too slow: \(received) bytes in \(elapsed / 1_000_000) ms, below limits.minRequestBodyRate \(minRate) B/s"
        )
        recordOutcome(status: nil, failure: nil)
        if responseStarted {
            // The upstream answered already (its head went out): only a reset can end the stream.
            endExchange(reuseUpstream: false)
            session.reset(stream: id, code: .cancel)
            proxy.markDirty(connection)
        } else {
            // Releases the upstream connection unreused: the body it was sent is incomplete.
            respond(status: 408, message: "request body too slow")
        }
    }
}
