// HTTP/1.1 bodies spliced through a kernel pipe between plain-TCP sockets: the bytes never enter user space (SpliceRules says when).
import EventLoop

/// A body on its way through a pipe: the pipe, and how many of the body's bytes are in it now.
struct PipedBody {
    let pipe: SplicePipe
    var held = 0
}

/// Each step empties the pipe into the destination before it fills the pipe again from the source, so
/// that the pipe holds bytes only while the destination is full — the back-pressure of the copy path,
/// where the source is not read while bytes wait for the destination — and so that a fill always
/// meets an empty pipe: then "would block" can only mean the source has nothing (with bytes in the
/// pipe it may also mean no room), and the readiness flags keep their edge-triggered meaning.
/// A short fill does not mean the source is drained (the pipe's slots may be full of small segments):
/// only "would block" clears the source's readable flag. Counters, deadlines and failures are the
/// copy path's: bytes count when they reach the destination, as there.
extension ClientConnection {
    /// What the rules ask of this exchange, for either direction.
    private func splicePath(_ exchange: H1Exchange, _ up: UpstreamConnection) -> SpliceRules.Path {
        SpliceRules.Path(
            enabled: exchange.snapshot.splices && !exchange.spliceDeclined, clientTLS: transport.isTLS,
            upstreamTLS: up.transport.isTLS, mirrored: exchange.mirror != nil)
    }

    /// A pipe from the loop's pool; nil (and the exchange keeps the copy path) when pipe2 failed.
    private func takePipe(_ exchange: H1Exchange) -> SplicePipe? {
        do {
            return try proxy.pipes.take()
        } catch {
            proxy.log.debug("no pipe for splice (\(error)): the body is copied")
            exchange.spliceDeclined = true
            return nil
        }
    }

    /// Gives the exchange's pipes back: to the pool when empty, closed when bytes were left in them
    /// (the exchange failed mid-body). Called whenever an exchange ends (`releaseExchange`).
    func releasePipes(_ exchange: H1Exchange) {
        if let piped = exchange.requestPipe {
            exchange.requestPipe = nil
            proxy.pipes.give(piped.pipe, empty: piped.held == 0)
        }
        if let piped = exchange.responsePipe {
            exchange.responsePipe = nil
            proxy.pipes.give(piped.pipe, empty: piped.held == 0)
        }
    }

    // MARK: response: upstream → pipe → client

    /// Where the copy path would read the upstream next: splices the rest of the response body instead
    /// when the rules allow (the head and every body byte read so far went to the client). True when
    /// the splice began; the buffer the copy path read into goes back to the pool meanwhile.
    func startsResponseSplice(_ exchange: H1Exchange, _ up: UpstreamConnection) -> Bool {
        let held = (output?.readableCount ?? 0) + (exchange.fromUpstream?.readableCount ?? 0)
        guard SpliceRules.splicesResponse(splicePath(exchange, up), progress: exchange.responseBody.progress, heldForClient: held),
            let pipe = takePipe(exchange)
        else { return false }
        exchange.responsePipe = PipedBody(pipe: pipe)
        proxy.loop.buffers.give(from: &exchange.fromUpstream)
        proxy.loop.buffers.give(from: &output)
        return true
    }

    /// Moves the response body until the client is full (`.blocked`), the upstream has nothing for now
    /// or the body ended (`.done`: the pipe is empty), the client failed (`.failed`) or the upstream did
    /// (`.upstreamFailed`: the exchange was ended as its failure, as a failed read ends it).
    func spliceResponseBody(_ exchange: H1Exchange) -> FlushResult {
        guard let up = exchange.upstream, let pipe = exchange.responsePipe?.pipe else { return .done }
        while true {
            let held = exchange.responsePipe!.held
            if held > 0 {
                guard writable else { return .blocked }
                do {
                    switch try pipe.drain(to: fd, count: held) {
                    case .wouldBlock:
                        writable = false
                        return .blocked
                    case .value(let n):
                        exchange.responsePipe!.held = held - n
                        exchange.bytesToClient &+= UInt64(n)
                        proxy.control.spliced.toClient.add(UInt64(n), ordering: .relaxed)
                        if n < held {
                            writable = false
                            return .blocked
                        }
                    }
                } catch {
                    return .failed
                }
            }
            let count = SpliceRules.fillCount(exchange.responseBody.progress, pipeCapacity: proxy.pipes.pipeCapacity)
            if count == 0 {
                releasePipes(exchange)
                return .done
            }
            guard up.readable else { return .done }
            do {
                switch try pipe.fill(from: up.fd, count: count) {
                case .wouldBlock:
                    up.readable = false
                    return .done
                case .value(0):
                    up.readable = false
                    up.hungUp = true
                    if exchange.responseBody.progress.isUntilClose {
                        // A close-delimited body ends here, as on the copy path.
                        exchange.responseBody.progress = .none
                        closeAfterResponse = true
                        releasePipes(exchange)
                        return .done
                    }
                    failUpstream(exchange, .upstreamClosed)
                    return .upstreamFailed
                case .value(let n):
                    exchange.responsePipe!.held = n
                    exchange.responseBody.progress = SpliceRules.filled(exchange.responseBody.progress, by: n)
                    proxy.responseDeadlines.arm(up, now: proxy.loop.now)
                }
            } catch {
                failUpstream(exchange, .upstreamReset)
                return .upstreamFailed
            }
        }
    }

    // MARK: request: client → pipe → upstream

    /// Where the copy path would read the client's body next: splices the rest of it instead when the
    /// rules allow (the head and every body byte read so far went to the upstream). True when it began.
    func startsRequestSplice(_ exchange: H1Exchange, _ up: UpstreamConnection) -> Bool {
        let held = (exchange.headOut?.readableCount ?? 0) + (input?.readableCount ?? 0) + exchange.requestPending
        guard
            SpliceRules.splicesRequest(
                splicePath(exchange, up), upgrade: exchange.upgrade, progress: exchange.requestBody, heldForUpstream: held),
            let pipe = takePipe(exchange)
        else { return false }
        exchange.requestPipe = PipedBody(pipe: pipe)
        proxy.loop.buffers.give(from: &input)
        return true
    }

    /// Moves the request body until the upstream is full, the client has nothing for now, or the body
    /// ended (the pipe goes back; the copy path's step then sees the request complete). True when bytes
    /// moved or the exchange changed (ended, or the body is done).
    func spliceRequestBody(_ exchange: H1Exchange, _ up: UpstreamConnection) -> Bool {
        guard let pipe = exchange.requestPipe?.pipe else { return false }
        var progressed = false
        while true {
            let held = exchange.requestPipe!.held
            if held > 0 {
                guard up.writable else { return progressed }
                do {
                    switch try pipe.drain(to: up.fd, count: held) {
                    case .wouldBlock:
                        up.writable = false
                        return progressed
                    case .value(let n):
                        exchange.requestPipe!.held = held - n
                        exchange.bytesFromClient &+= UInt64(n)
                        proxy.control.spliced.toUpstream.add(UInt64(n), ordering: .relaxed)
                        proxy.responseDeadlines.arm(up, now: proxy.loop.now)
                        progressed = true
                        if n < held {
                            up.writable = false
                            return progressed
                        }
                    }
                } catch {
                    failUpstream(exchange, .upstreamReset)
                    return true
                }
            }
            let count = SpliceRules.fillCount(exchange.requestBody, pipeCapacity: proxy.pipes.pipeCapacity)
            if count == 0 {
                releasePipes(exchange)
                return true
            }
            guard readable else { return progressed }
            do {
                switch try pipe.fill(from: fd, count: count) {
                case .wouldBlock:
                    readable = false
                    return progressed
                case .value(0):
                    proxy.log.debug("client closed during request body")
                    close()
                    return true
                case .value(let n):
                    exchange.requestPipe!.held = n
                    exchange.requestBodyRead &+= UInt64(n)
                    exchange.requestBody = SpliceRules.filled(exchange.requestBody, by: n)
                    progressed = true
                }
            } catch {
                close()
                return true
            }
        }
    }
}
