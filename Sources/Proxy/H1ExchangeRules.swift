// The decisions of an HTTP/1.1 exchange that need no socket: a client's hang-up, the body to buffer, the final head's framing.
import EventLoop
import HTTP

enum H1ExchangeRules {
    /// Whether a hang-up the kernel reports (EPOLLRDHUP, EPOLLHUP, EPOLLERR: free with the
    /// registration, no syscall) ends the exchange in flight as a client abort. While the proxy waits
    /// for the upstream it does not read the client (back-pressure, and a pipelined request must wait
    /// its turn), so without this a client that gave up went unnoticed until the response or
    /// `timeouts.upstreamResponse`, which then blamed the arm with a 504.
    ///
    /// - A reset or an error (EPOLLHUP, EPOLLERR; our side is never shut during an exchange) is a
    ///   client gone: always an abort.
    /// - Readable bytes alone are not a close: a pipelined request waits in the socket.
    /// - A FIN (EPOLLRDHUP) cannot tell a close from a half-close (shutdown(SHUT_WR)), and RFC 9112
    ///   §9.6 says a half-close does not mean the client lost interest. Clients that give up close
    ///   after their timeout, long after their request; a client that half-closes does so right
    ///   after its last byte. So, as nginx does by default (proxy_ignore_client_abort off: its EOF
    ///   check on EPOLLRDHUP) and unlike HAProxy without `option abortonclose`: a FIN that arrives
    ///   once the whole request has been read, before the response is complete, is an abort. One
    ///   that arrived before that (with the head, or while the body was still being read, whose rest
    ///   comes before it) is a half-close: the request is served and the connection closed after.
    ///   A half-closing client whose FIN is late (after the proxy read the request) is taken for one
    ///   that gave up, as with nginx.
    ///
    /// `alreadyHungUp`: an earlier event reported the FIN (edge-triggered: later events repeat
    /// EPOLLRDHUP once it is set; only the first one is news). `requestRead`: every body byte of the
    /// request was read (while it is not, the bytes before the FIN are read first, and a 0-byte read
    /// before the body's end is the abort).
    static func clientAbandons(events: UInt32, alreadyHungUp: Bool, requestRead: Bool) -> Bool {
        if events & (Reactor.hangup | Reactor.error) != 0 { return true }
        if alreadyHungUp { return false }
        return requestRead
    }

    /// `limits.requestBuffer`: body bytes to hold before an upstream is chosen — the whole body if it
    /// fits under `limit` and in the input buffer after the head, else as much as does (the rest then
    /// streams). 0: no buffering (none configured, no body, a body until close, or `Expect:
    /// 100-continue`, whose client waits for the upstream's 100 before it sends the body).
    static func bodyToBuffer(limit: Int, expectsContinue: Bool, bufferSize: Int, headLength: Int, framing: BodyFraming) -> Int {
        guard limit > 0, !expectsContinue else { return 0 }
        let room = max(0, min(limit, bufferSize - headLength))
        switch framing {
        case .none, .untilClose: return 0
        case .contentLength(let n): return Int(min(n, UInt64(room)))
        case .chunked: return room
        }
    }
}

/// How the final response head goes to the client, by the client's version and the response's framing.
struct FinalHeadPlan: Equatable {
    /// The upstream's chunked body is decoded: an HTTP/1.0 client cannot read chunked.
    let dechunk: Bool
    /// The body is framed chunked towards the client (re-framed canonically).
    let chunked: Bool
    /// The client connection closes after this response: asked before, a body delimited by the
    /// upstream's close, or a decoded body (whose end only the close can tell).
    let closeAfter: Bool
    let directive: ConnectionDirective
}

extension FinalHeadPlan {
    init(clientVersionMinor: UInt8, framing: BodyFraming, closeAfterResponse: Bool) {
        let clientIsHTTP10 = clientVersionMinor == 0
        dechunk = clientIsHTTP10 && framing == .chunked
        chunked = framing == .chunked && !dechunk
        var close = closeAfterResponse || dechunk
        if case .untilClose = framing { close = true }
        closeAfter = close
        directive = close ? .close : (clientIsHTTP10 ? .keepAlive : .none)
    }
}
