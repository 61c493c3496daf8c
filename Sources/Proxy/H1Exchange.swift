// The request in flight on an HTTP/1.1 client connection: everything that lives from its head to the end of its response.
import EventLoop
import HTTP
import Telemetry

/// The payload of `ClientConnection.State.bufferingBody` and `.exchanging`: the exchange's data is
/// reachable only through the state, so it cannot be read in another phase. Its request head and parser
/// are read before, from a request's first byte: an idle keep-alive connection holds none of it.
///
/// A class, reused for every request (`begin` resets it), by its connection and, through the loop's spares,
/// by other connections once it went idle: an enum payload of this
/// size held by value is copied out and written back (with a retain per reference inside) at every
/// step, and a fresh object per request is a heap allocation per request.
final class H1Exchange {
    /// How the state holds its exchange: unretained, so the state stays a plain value. With a strong
    /// payload every `switch state` (binding or not) copied the enum with a retain and a release, about
    /// 170 instructions per HTTP/1.1 request (callgrind); the connection's own strong reference
    /// (`ClientConnection.exchangeStorage`) keeps the object alive while the connection has a request.
    struct Handle {
        private let unretained: Unmanaged<H1Exchange>

        init(_ exchange: H1Exchange) { unretained = .passUnretained(exchange) }

        /// The exchange, as a strong reference (a retain; for the rare paths).
        var object: H1Exchange { unretained.takeUnretainedValue() }

        /// Runs `body` with the exchange lent, without a retain: for the hot path (`drive`).
        func borrow<Result>(_ body: (H1Exchange) -> Result) -> Result { unretained._withUnsafeGuaranteedRef(body) }
    }

    /// The request head being read (its ranges point into the connection's `input`), then the one in flight;
    /// its header array's capacity is kept across requests and connections.
    var request = RequestHead()
    var parser: RequestHeadParser

    /// The configuration the request is served under: the snapshot current when it was routed. Holding
    /// it keeps the routes (and the rules a response still reads, like session affinity's) alive.
    private(set) var snapshot: ProxySnapshot
    /// The arm's metrics for the request; nil until it is routed and once its outcome is recorded.
    var shard: ArmShard?
    var startedAt: UInt64 = 0
    /// The in-flight sweep counted this exchange slow (older than its route's T).
    var slowMarked = false
    var bytesFromClient: UInt64 = 0
    var bytesToClient: UInt64 = 0
    var attempts = AttemptLog()
    /// The Set-Cookie the final response head owes (session affinity); set when the request is routed.
    var cookie: CookieDue?
    /// The trace the proxy starts for the request (nil: its trace context goes on as received), decided
    /// when it is routed so that every attempt and a mirrored copy carry the same traceparent.
    var startTrace: TraceIDs?
    /// `tracing.armHeader`: the field naming the request's arm, in its snapshot's `ArmFields`.
    var armField: ArmField?

    var upstream: UpstreamConnection?
    /// The role for requests routed to an HTTP/2 arm (`upstream` stays nil then): made on the connection's
    /// first such request and kept for its later ones.
    var http2Relay: H1ToH2Relay?
    /// The rewritten request head for the upstream; kept whole until a response byte arrives so a
    /// request that failed on a stale pooled connection can be sent again.
    var headOut: ByteBuffer?
    var headOutLength = 0
    var requestBody = BodyProgress.none
    /// Body bytes ready for the upstream and not yet sent: at the front of `input`, or (chunked) in `reframed`.
    var requestPending = 0
    /// A chunked request body re-framed for the upstream (see `ChunkedScanner.reframe`).
    var reframed: ByteBuffer?
    /// Request-body bytes read from the client (after those that came with the head).
    var requestBodyRead: UInt64 = 0
    /// The `timeouts.requestBody` window running while the proxy waits for body bytes; its deadline is
    /// the connection's deadline whenever it is set (see ClientConnection+RequestBody.swift).
    var requestBodyWindow: RequestBodyWindow?
    /// The head and the whole body went to the upstream.
    var requestComplete = false
    /// The pipe the rest of the request body is spliced through to the upstream, and the one the
    /// response body is spliced through to the client (ClientConnection+Splice.swift): nil on the copy
    /// path; given back to the loop's pool as soon as the body ended.
    var requestPipe: PipedBody?
    var responsePipe: PipedBody?
    /// pipe2 failed in this exchange (descriptors ran out): its bodies keep the copy path.
    var spliceDeclined = false
    /// The request's Upgrade went to the upstream (`UpgradeRules`, an HTTP/1.1 arm): a 101 opens a tunnel.
    var upgrade = false
    /// The tunnel after a 101 (read only in `.tunneling`), and the arm's metrics it counts on until it ends.
    var tunnel = TunnelFlow(now: 0)
    var tunnelShard: ArmShard?
    /// The request's fields for its access-log line; nil while the log is off.
    var logCapture: AccessLogCapture?
    /// The request's copy to the canary, tapped with the primary's response; nil when not mirrored.
    var mirror: MirrorSlot?

    /// Response bytes from the upstream (head, then body in transit).
    var fromUpstream: ByteBuffer?
    /// Reused across requests with its header array's capacity.
    var responseParser: ResponseHeadParser
    var response = ResponseHead()
    /// The final response head was accepted (queued for or sent to the client); before, interim 1xx heads
    /// may have been relayed. A stored flag, where an optional `responseBody` would have been the phase's
    /// own test: that optional's tag lives in the spare bits of the body's enum and took ten instructions
    /// to test, at each of the many tests of an exchange (callgrind), and an enum payload is copied out
    /// and written back at every step.
    var responseStarted = false
    /// The final response's body: assigned whole when its head is accepted, read only once `responseStarted`.
    var responseBody = ResponseBody(.none, dechunk: false)

    init(snapshot: ProxySnapshot, maxHeaderBytes: Int, maxHeaderCount: Int) {
        self.snapshot = snapshot
        responseParser = ResponseHeadParser(maxHeaderBytes: maxHeaderBytes, maxHeaderCount: maxHeaderCount)
        parser = RequestHeadParser(maxHeaderBytes: maxHeaderBytes, maxHeaderCount: maxHeaderCount)
    }

    /// The first byte of a request head arrived (or, pipelined, is already held): its parse starts over, under
    /// the current limits. An exchange taken from the loop's spares may hold another connection's half-parsed
    /// head (one that closed), and one given back after a reload was made under the old limits (both parsers
    /// then take the new ones). `request` is not cleared here: the parser's first call clears it (clearing it
    /// twice cost ~120 instructions per request).
    func startRequestHead(maxHeaderBytes: Int, maxHeaderCount: Int) {
        if parser.maxHeaderBytes != maxHeaderBytes || parser.maxHeaderCount != maxHeaderCount {
            parser = RequestHeadParser(maxHeaderBytes: maxHeaderBytes, maxHeaderCount: maxHeaderCount)
            responseParser = ResponseHeadParser(maxHeaderBytes: maxHeaderBytes, maxHeaderCount: maxHeaderCount)
        } else {
            parser.reset()
        }
    }

    /// The request is routed under `current`: a request routed once its body was buffered may meet a
    /// newer config than its head did, and must hold the one whose routes it is given (a pointer test
    /// per request; an assignment only after a reload).
    @inline(__always)
    func route(under current: ProxySnapshot) {
        if snapshot !== current { snapshot = current }
    }

    /// A new request's head arrived: every per-request field starts over. The buffers, the upstream
    /// and the shard were let go by the previous exchange's end (`ClientConnection.releaseExchange`).
    func begin(snapshot: ProxySnapshot) {
        self.snapshot = snapshot
        slowMarked = false
        bytesFromClient = 0
        bytesToClient = 0
        attempts = AttemptLog()
        startTrace = nil
        armField = nil
        headOutLength = 0
        requestBody = .none
        requestPending = 0
        requestBodyRead = 0
        requestBodyWindow = nil
        requestComplete = false
        spliceDeclined = false
        upgrade = false
        responseStarted = false
    }

    /// Records how the request ended, once: a response status (with the upstream failure that caused
    /// it, if any) or, with `status` nil, the client going away.
    func recordOutcome(status: Int?, failure: FailureKind?, now: UInt64) {
        if logCapture != nil { endLogCapture(status: status, failure: failure?.label, now: now) }
        guard let shard else { return }
        self.shard = nil
        shard.recordOutcome(
            status: status, failure: failure, latencyNanoseconds: now &- startedAt,
            bytesFromClient: bytesFromClient, bytesToClient: bytesToClient, slowMarked: slowMarked,
            retriedFailure: attempts.hidFailure)
    }

    /// Counts the request as slow once it is older than `threshold` nanoseconds (its arm's route's T).
    func markIfSlow(now: UInt64, threshold: (ArmShard) -> UInt64) {
        guard let shard else { return }
        shard.markIfSlow(startedAt: startedAt, now: now, threshold: threshold(shard), marked: &slowMarked)
    }
}

/// What of a response body is still to be relayed, once its head was accepted.
struct ResponseBody {
    var progress: BodyProgress
    /// Body bytes at the front of `fromUpstream` ready for the client.
    var pending = 0
    /// The upstream's chunked body is decoded for an HTTP/1.0 client (which cannot read chunked).
    let dechunk: Bool

    init(_ framing: BodyFraming, dechunk: Bool) {
        progress = BodyProgress(framing)
        self.dechunk = dechunk
    }

    /// Every byte of the body has been handed to the client.
    var isDone: Bool { progress.isFullyClassified && pending == 0 }
}
