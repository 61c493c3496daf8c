// An HTTP/2 extended CONNECT for a WebSocket (RFC 8441) relayed to an HTTP/1.1 upstream: its upgrade, then DATA both ways.
import EventLoop
import HTTP
import HTTP2

/// How far an HTTP/2 stream's WebSocket got with its HTTP/1.1 upstream.
enum H2TunnelPhase: Equatable {
    /// An ordinary request.
    case none
    /// The upgrade went upstream: a 101 with the right Sec-WebSocket-Accept opens the tunnel, any
    /// other final response is relayed as it is.
    case awaitingSwitch
    /// The stream answered 200: its DATA go upstream as they come (consumed from the client's window
    /// as they are written there), the upstream's bytes come back as DATA, until either side ends.
    case open
}

/// Whether a field `name` is `lowercased` (a lower-case literal), ignoring the case of ASCII letters.
func fieldNameIs(_ name: UnsafeRawBufferPointer, _ lowercased: StaticString) -> Bool {
    equalIgnoringASCIICase(name, UnsafeRawBufferPointer(start: lowercased.utf8Start, count: lowercased.utf8CodeUnitCount))
}

/// Whether `a` and `b` are the same bytes, ASCII letters compared without case.
func equalIgnoringASCIICase(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
    a.elementsEqual(b) { x, y in (x &- 0x41 < 26 ? x | 0x20 : x) == (y &- 0x41 < 26 ? y | 0x20 : y) }
}

extension ProxyFailure {
    /// An extended CONNECT for a route whose arm speaks HTTP/2: the proxy relays WebSockets to
    /// HTTP/1.1 upstreams only (as their upgrade), so it answers itself; not the arm's fault.
    static let webSocketNeedsHTTP1 = ProxyFailure(
        status: 501, message: "WebSocket over HTTP/2 is relayed to HTTP/1.1 upstreams only", kind: nil)
    /// The upstream's 101 did not prove it read the key: no tunnel to a peer that is not speaking WebSocket.
    static let badWebSocketAccept = ProxyFailure(
        status: 502, message: "upstream switched protocols without a valid Sec-WebSocket-Accept", kind: .invalidResponse)
}

extension H2Stream {
    /// Whether the route a WebSocket matches has an HTTP/2 arm: then it is answered before an arm is
    /// picked (as an HTTP/1.1 request for such a route is), so no arm counts the proxy's own 501.
    func webSocketRouteSpeaksHTTP2(_ source: UnsafeRawBufferPointer) -> Bool {
        request.withView(source: source) { view in
            snapshot.routes.match(host: view.authority, path: view.path)?.speaksOnlyHTTP2 ?? false
        }
    }

    /// Sends the stream's extended CONNECT to an HTTP/1.1 endpoint of the decision's pool as the HTTP/1.1 WebSocket
    /// handshake, with a fresh key. An HTTP/2 endpoint (which `webSocketRouteSpeaksHTTP2` keeps from
    /// being picked) never gets an HTTP/1.1 upgrade.
    func startWebSocketExchange(_ decision: RouteDecision, source: UnsafeRawBufferPointer) {
        guard decision.pool.protocolKind == .http1 else {
            end(with: .webSocketNeedsHTTP1, .answer(.webSocketNeedsHTTP1))
            return
        }
        startHTTP1Exchange(decision, source: source, webSocketKey: .random())
    }

    /// `GET :path` with Host from `:authority`, the client's other fields (its Sec-WebSocket-Version
    /// among them), `Connection: Upgrade`, `Upgrade: websocket` and `key`. The DATA that follow are the
    /// tunnel's bytes: never framed as a chunked body.
    func writeWebSocketHandshake(
        _ key: WebSocketKey, source: UnsafeRawBufferPointer, clientAddress: UnsafeRawBufferPointer, into out: ByteBuffer
    ) -> Int? {
        request.progress.chunkedBody = false
        return key.withBytes { keyBytes in
            request.fields.writeHTTP1(
                source: source, clientAddress: clientAddress, proto: connection.isTLS ? "https" : "http", chunkedBody: false,
                webSocketKey: keyBytes, startTrace: request.progress.startTrace, into: out.writable)
        }
    }

    /// The upstream's 101 is complete in `buffer`: checked, answered to the client with 200 and the
    /// 101's end-to-end fields (its accept aside: HTTP/2 has none), and from here the response body is
    /// the upstream's bytes until it closes. The exchange's outcome is recorded now, once, with its
    /// latency to this head; the tunnel's life is counted apart when it ends (`endTunnel`).
    func switchToTunnel(_ relay: H2HTTP1Relay, _ buffer: ByteBuffer) {
        guard let up = relay.upstream else { return }
        let bytes = buffer.readable
        let accept = relay.response.headers.first { fieldNameIs(bytes.slice($0.name), "sec-websocket-accept") }
        guard let accept, relay.webSocketKey.isAccepted(by: bytes.slice(accept.value)) else {
            proxy.log.warning("upstream \(up.pool.configured) switched protocols without the WebSocket accept key")
            failUpstream(relay, .badWebSocketAccept)
            return
        }
        addResponseFields(relay, buffer, skip: "sec-websocket-accept")
        guard submitResponseHead(relay, buffer, status: 200, hasBody: true) else { return }
        // What follows the head, and all the upstream sends after, is the body until it closes.
        relay.body = .untilClose
        let now = proxy.loop.now
        up.pool.recordResponse(status: relay.response.status, now: now)
        relay.tunnelShard = outcome?.shard
        recordOutcome(status: 200, failure: nil)
        relay.tunnelShard?.tunnelOpened()
        relay.tunnelOpenedAt = now
        relay.tunnel = .open
        armUpstreamDeadline(relay, up)
    }

    /// The client ended its side (END_STREAM) and every byte of it went upstream: a half-close there.
    func passOnClientEnd(_ relay: H2HTTP1Relay, _ up: UpstreamConnection) {
        guard request.progress.complete, !relay.upstreamWriteShut else { return }
        relay.upstreamWriteShut = true
        up.transport.shutdownWrite()
    }

    /// A byte moved on the upstream connection: its deadline is `timeouts.tunnel` in a tunnel, else
    /// the response timeout.
    @inline(__always)
    func armUpstreamDeadline(_ relay: H2HTTP1Relay, _ up: UpstreamConnection) {
        (relay.tunnel == .open ? proxy.tunnelDeadlines : proxy.responseDeadlines).arm(up, now: proxy.loop.now)
    }

    /// `timeouts.tunnel` passed without a byte either way (every byte re-arms it): the stream is cancelled.
    func tunnelIdled() {
        proxy.log.debug("HTTP/2 tunnel closed after timeouts.tunnel without a byte")
        endExchange(reuseUpstream: false)
        session.reset(stream: id, code: .cancel)
        proxy.markDirty(connection)
    }

    /// The tunnel's life goes to its arm's metrics, once (its exchange is ending).
    func endTunnel(_ relay: H2HTTP1Relay) {
        guard let shard = relay.tunnelShard else { return }
        relay.tunnelShard = nil
        shard.tunnelClosed(durationNanoseconds: proxy.loop.now &- relay.tunnelOpenedAt)
    }
}
