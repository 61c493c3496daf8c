// One mirrored request: its copy sent to the canary on its own connection, the canary's response read, the primary's tapped, the two compared.
import EventLoop
import HTTP
import Telemetry

/// Reused for one mirrored request after another (its arrays keep their capacity); at most
/// `mirror.maxInFlight` of them per route and loop (`MirrorLane`). The client's exchange only hands it
/// the primary's response as it passes (`primaryHead`, `primaryBody`, `primaryFinished`, `primaryReleased`)
/// and never waits for it: the canary's side runs on its own upstream connection, as the connection's owner.
final class MirrorSlot: UpstreamOwner {
    /// Not retained: a slot lives on its loop, which outlives it.
    unowned(unsafe) let proxy: ProxyLoop
    /// The route state it belongs to and goes back to; nil once its lane was retired (a reload).
    private var lane: MirrorLane?
    private var pair = MirrorPair()
    private var method = HTTPMethod.get
    private var startedAt: UInt64 = 0

    // The canary's side.
    private var request: [UInt8] = []
    private var sent = 0
    private var upstream: UpstreamConnection?
    /// A stale pooled connection failed before any byte of the response: one fresh connect follows.
    private var reconnected = false
    private var inbound: ByteBuffer?
    private var parser: ResponseHeadParser
    private var canaryResponse = ResponseHead()
    private var canaryHead: [UInt8] = []
    private var canaryBody = MirrorBodyCapture()
    private var canaryProgress = BodyProgress.none
    private var canaryHeadReceived = false
    private var canaryLatency: UInt64 = 0

    // The primary's side.
    private var primaryResponse = ResponseHead()
    private var primaryHeadBytes: [UInt8] = []
    private var primaryBodyCapture = MirrorBodyCapture()
    private var primaryCompleted = false
    private var primaryLatency: UInt64 = 0

    init(proxy: ProxyLoop, lane: MirrorLane) {
        self.proxy = proxy
        self.lane = lane
        parser = ResponseHeadParser(maxHeaderBytes: proxy.maxHeaderBytes, maxHeaderCount: proxy.maxHeaderCount)
    }

    /// Lets go of the lane (a retired lane drops its free slots; this breaks their cycle).
    func leaveLane() { lane = nil }

    /// Sends a copy of `head` and `body` to an endpoint of the lane's canary. `startedAt` is the primary
    /// exchange's start, from which both latencies are measured.
    func start(head: UnsafeRawBufferPointer, body: UnsafeRawBufferPointer, method: HTTPMethod, startedAt: UInt64) {
        guard let lane else { return }
        self.method = method
        self.startedAt = startedAt
        pair = MirrorPair()
        request.removeAll(keepingCapacity: true)
        request.append(contentsOf: head)
        request.append(contentsOf: body)
        sent = 0
        reconnected = false
        parser.reset()
        canaryResponse.reset()
        canaryHeadReceived = false
        primaryCompleted = false
        // Counted as a canary request from here, ended by `canaryAnswered` or `canaryFailed`.
        lane.shard.requestStarted()
        connect(lane.canary.pick(now: proxy.loop.now), reuse: true)
    }

    private func connect(_ pool: UpstreamPool, reuse: Bool) {
        switch proxy.bindUpstream(pool: pool, reuse: reuse, owner: self) {
        case .success(let up):
            upstream = up
            drive()
        case .failure(let failure):
            canaryFailed(failure)
        }
    }

    // MARK: the primary's side, from the client's exchange

    /// The primary's final response head (its bytes, as received) was accepted for the client.
    func primaryHead(_ head: UnsafeRawBufferPointer, framing: BodyFraming) {
        primaryHeadBytes.removeAll(keepingCapacity: true)
        primaryHeadBytes.append(contentsOf: head)
        primaryBodyCapture.begin(limit: lane?.rules.maxBodyBytes ?? 0, framing: framing)
    }

    /// Body bytes of the primary's response, as framed by the upstream, on their way to the client.
    func primaryBody(_ raw: UnsafeRawBufferPointer) { primaryBodyCapture.feed(raw) }

    /// The primary's whole response reached the client.
    func primaryFinished(now: UInt64) {
        primaryCompleted = true
        primaryLatency = now &- startedAt
    }

    /// The client's exchange lets go of the slot (after `primaryFinished`, or when it ended otherwise).
    func primaryReleased() { act(pair.primaryEnded(completed: primaryCompleted)) }

    // MARK: the canary's side

    override func upstreamReady() { drive() }

    override func upstreamDeadlinePassed() {
        guard let up = upstream else { return }
        if !up.connected { up.pool.recordFailure(now: proxy.loop.now) }
        canaryFailed(up.connected ? .responseTimeout : .connectTimeout)
    }

    private func drive() {
        guard let up = upstream else { return }
        if !up.connected {
            guard up.writable || up.hungUp else { return }
            if let failure = up.completeConnect() { return canaryFailed(failure) }
        }
        while sent < request.count && up.writable {
            do {
                let result = try request.withUnsafeBytes { try up.transport.write(UnsafeRawBufferPointer(rebasing: $0[sent...])) }
                switch result {
                case .wouldBlock: up.writable = false
                case .value(let n):
                    sent += n
                    proxy.responseDeadlines.arm(up, now: proxy.loop.now)
                }
            } catch {
                return canaryFailed(.upstreamReset)
            }
        }
        readResponse(up)
    }

    /// Reads and takes in the canary's response until it is whole or the socket has no more for now.
    private func readResponse(_ up: UpstreamConnection) {
        while true {
            if let buffer = inbound, !buffer.isEmpty {
                if canaryHeadReceived {
                    switch canaryProgress.classify(buffer.readable, alreadyPending: 0) {
                    case .success(let n):
                        canaryBody.feed(UnsafeRawBufferPointer(rebasing: buffer.readable[0..<n]))
                        buffer.consume(n)
                    case .failure: return canaryFailed(.invalidResponse)
                    }
                } else {
                    let tookHead = takeHead(buffer)
                    if upstream == nil { return }  // it failed
                    // What followed the head (the final head after an interim one, the body) is already here.
                    if tookHead { continue }
                }
            }
            if canaryHeadReceived && canaryProgress.isFullyClassified { return canaryAnswered(up) }
            if upstream == nil { return }
            guard up.readable else { return }
            let buffer = inbound ?? proxy.loop.buffers.take()
            inbound = buffer
            if buffer.writableCount == 0 { buffer.compact() }
            // Only a head larger than the buffer can fill it: body bytes are taken out as they come.
            guard buffer.writableCount > 0 else { return canaryFailed(.invalidResponse) }
            let read: IOResult<Int>
            do { read = try up.transport.read(into: buffer.writable) } catch { return canaryFailed(.upstreamReset) }
            switch read {
            case .value(let n) where n > 0:
                buffer.commit(n)
                proxy.responseDeadlines.arm(up, now: proxy.loop.now)
            case .wouldBlock:
                up.readable = false
                return
            case .value:
                // The canary closed: the end of a close-delimited body, else a failure.
                up.readable = false
                up.hungUp = true
                guard canaryHeadReceived && canaryProgress.isUntilClose else { return canaryFailed(.upstreamClosed) }
                canaryProgress = .none
            }
        }
    }

    /// Parses the canary's head at the front of `buffer`: interim heads are skipped, the final one is kept.
    /// True when a head was taken out of `buffer`; false when more bytes are needed or the exchange failed.
    private func takeHead(_ buffer: ByteBuffer) -> Bool {
        switch parser.parse(buffer.readable, requestMethod: method, into: &canaryResponse) {
        case .incomplete:
            return false
        case .error:
            canaryFailed(.invalidResponse)
            return false
        case .complete:
            break
        }
        if canaryResponse.status < 200 {
            if canaryResponse.status == 101 {
                canaryFailed(.invalidResponse)
                return false
            }
            buffer.consume(canaryResponse.headLength)
            parser.reset()
            canaryResponse.reset()
            return true
        }
        canaryHead.removeAll(keepingCapacity: true)
        canaryHead.append(contentsOf: buffer.readable[0..<canaryResponse.headLength])
        buffer.consume(canaryResponse.headLength)
        canaryProgress = BodyProgress(canaryResponse.framing)
        canaryBody.begin(limit: lane?.rules.maxBodyBytes ?? 0, framing: canaryResponse.framing)
        canaryHeadReceived = true
        return true
    }

    private func canaryAnswered(_ up: UpstreamConnection) {
        let now = proxy.loop.now
        canaryLatency = now &- startedAt
        let reusable =
            UpstreamReuse(
                responseKeepAlive: canaryResponse.keepAlive, requestComplete: sent == request.count, upstreamHungUp: up.hungUp,
                unreadResponseBytes: !(inbound?.isEmpty ?? true), closeDelimited: false
            ).allowed && !canaryBody.malformed
        up.pool.recordResponse(status: canaryResponse.status, now: now)
        releaseUpstream(reusable: reusable)
        lane?.shard.recordResponse(status: canaryResponse.status, latencyNanoseconds: canaryLatency, bytesFromClient: 0, bytesToClient: 0)
        act(pair.canaryEnded(.answered))
    }

    /// The canary's exchange failed: counted on the canary's arm as its requests' failures are (the
    /// failure by source, and the status a client would have got), then on the mirror counters.
    private func canaryFailed(_ failure: ProxyFailure) {
        if let up = upstream {
            let freshStart = up.completedExchanges > 0 && !reconnected && !canaryHeadReceived && (inbound?.isEmpty ?? true)
            if freshStart && failure != .responseTimeout {
                // An idle pooled connection the canary had closed: what a retry would hide from a client.
                reconnected = true
                let pool = up.pool
                releaseUpstream(reusable: false)
                sent = 0
                return connect(pool, reuse: false)
            }
            if up.connected && failure.kind != nil { up.pool.recordFailure(now: proxy.loop.now) }
        }
        releaseUpstream(reusable: false)
        if let lane { Self.countFailure(failure, on: lane.shard, latencyNanoseconds: proxy.loop.now &- startedAt) }
        let timedOut = failure == .responseTimeout || failure == .connectTimeout
        act(pair.canaryEnded(.failed(timedOut ? .timeout : .failed)))
    }

    /// Ends the copy `start` counted in flight on the canary's `shard`: the failure by its source when it
    /// has one, and always the status a client would have got (a failure of the proxy's own, such as
    /// running out of descriptors, has no source but still ends the request, as a client's does).
    static func countFailure(_ failure: ProxyFailure, on shard: ArmShard, latencyNanoseconds: UInt64) {
        if let kind = failure.kind { shard.recordFailure(kind) }
        shard.recordResponse(status: failure.status, latencyNanoseconds: latencyNanoseconds, bytesFromClient: 0, bytesToClient: 0)
    }

    private func releaseUpstream(reusable: Bool) {
        if let up = upstream {
            upstream = nil
            proxy.release(up, reusable: reusable)
        }
        proxy.loop.buffers.give(from: &inbound)
    }

    // MARK: the end of the pair

    private func act(_ ending: MirrorPair.Ending) {
        switch ending {
        case .wait: return
        case .compare: compare()
        case .count(let result): lane?.shard.recordMirror(result)
        }
        lane?.giveBack(self)
    }

    /// Both responses are in: a completed mirror is counted with its differences.
    private func compare() {
        guard let lane else { return }
        parser.reset()
        primaryResponse.reset()
        let parsed = primaryHeadBytes.withUnsafeBytes { parser.parse($0, requestMethod: method, into: &primaryResponse) }
        guard case .complete = parsed else { return lane.shard.recordMirror(.skipped) }
        let differences = primaryHeadBytes.withUnsafeBytes { primaryHead in
            canaryHead.withUnsafeBytes { canaryHead in
                lane.rules.compare.differences(
                    primary: MirrorResponse(
                        status: primaryResponse.status, head: primaryHead, headers: primaryResponse.headers, body: primaryBodyCapture,
                        latencyNanoseconds: primaryLatency),
                    mirror: MirrorResponse(
                        status: canaryResponse.status, head: canaryHead, headers: canaryResponse.headers, body: canaryBody,
                        latencyNanoseconds: canaryLatency))
            }
        }
        lane.shard.recordMirrorCompleted(status: differences.status, body: differences.body, latency: differences.latency)
    }
}
