// The request fields an access-log line needs, copied from the head when the request is routed, kept until it ends.
import EventLoop
import HTTP
import Telemetry

/// By the time a request ends, its head's bytes are gone (an HTTP/1.1 buffer is reused for the body,
/// an HTTP/2 stream's field scratch is given back once the upstream head is written). The fields a line
/// shows are copied, each cut to its budget, into a buffer of the loop's pool (no allocation in steady
/// state), which goes back to the pool when the line is written.
struct AccessLogCapture {
    /// The loop's logger, which outlives every request of its loop.
    unowned(unsafe) let logger: AccessLogger
    let buffer: ByteBuffer
    private var client = 0..<0
    private var method = 0..<0
    private var target = 0..<0
    private var referer: Range<Int>?
    private var userAgent: Range<Int>?
    let proto: StaticString
    let startedAt: UInt64
    private(set) var route: String?
    private(set) var revision: String?
    private(set) var arm: StaticString = "none"
    /// The endpoint first chosen; a retry on another endpoint is told at the end (`endpoint` there).
    private(set) var pool: UpstreamPool?

    /// Copies what the line shows of `view` (plus its full `target`, query included) and of `client`.
    init(
        _ view: RequestView?, target: UnsafeRawBufferPointer, client: UnsafeRawBufferPointer, proto: StaticString, startedAt: UInt64,
        logger: AccessLogger, buffer: ByteBuffer
    ) {
        self.logger = logger
        self.buffer = buffer
        self.proto = proto
        self.startedAt = startedAt
        self.client = copy(client, limit: AccessLogLine.Budget.client)
        guard let view else { return }
        method = copy(view.methodName, limit: AccessLogLine.Budget.method)
        self.target = copy(target, limit: AccessLogLine.Budget.target)
        referer = view.field(bytes("referer")).map { copy($0, limit: AccessLogLine.Budget.header) }
        userAgent = view.field(bytes("user-agent")).map { copy($0, limit: AccessLogLine.Budget.header) }
    }

    private func copy(_ bytes: UnsafeRawBufferPointer, limit: Int) -> Range<Int> {
        let start = buffer.writerIndex
        _ = buffer.append(UnsafeRawBufferPointer(rebasing: bytes.prefix(limit)))
        return start..<buffer.writerIndex
    }

    /// The request was given `decision`'s route, arm and endpoint.
    mutating func routed(_ decision: RouteDecision) {
        route = decision.route.name
        switch decision.arm {
        case .primary:
            arm = "primary"
            revision = decision.route.primary.revision
        case .canary:
            arm = "canary"
            revision = decision.route.canary?.revision
        }
        pool = decision.pool
    }

    /// The request ended: its line is written (see `AccessLogger.write`).
    func end(status: Int?, failure: String?, bytesToClient: UInt64, endpoint: UpstreamPool?, now: UInt64) {
        logger.write(self, status: status, failure: failure, bytesToClient: bytesToClient, endpoint: endpoint, now: now)
    }

    /// The line's fields for an end at `now` with `status` (nil: the client went away), the upstream
    /// `failure` or the proxy's refusal `reason`; `endpoint` is the pool that served the last attempt, if known.
    func withEntry(
        status: Int?, failure: String?, bytesToClient: UInt64, endpoint: UpstreamPool?, now: UInt64, unixMilliseconds: Int64,
        _ body: (AccessLogEntry) -> Void
    ) {
        let bytes = buffer.readable
        body(
            AccessLogEntry(
                unixMilliseconds: unixMilliseconds, client: bytes.slice(client), method: bytes.slice(method), target: bytes.slice(target),
                proto: proto, referer: referer.map { bytes.slice($0) }, userAgent: userAgent.map { bytes.slice($0) },
                status: status ?? AccessLogEntry.abortStatus, bytesToClient: bytesToClient, durationNanoseconds: now &- startedAt,
                route: route, arm: arm, revision: revision, upstream: (endpoint ?? pool)?.endpointText,
                failure: failure ?? (status == nil ? FailureKind.downstreamAbort.label : nil)))
    }
}

extension ProxyFailure {
    /// The access log's failure field for the proxy's own answer: the upstream failure's label, else why it refused.
    var logReason: String {
        if let kind { return kind.label }
        switch self {
        case .noRoute: return "no_route"
        case .headerTimeout: return "header_timeout"
        case .resourceExhausted: return "resource_exhausted"
        case .needsHTTP2: return "needs_http2"
        case .headTooLarge: return "head_too_large"
        default: return "refused"
        }
    }
}

extension UnsafeRawBufferPointer {
    fileprivate func slice(_ range: Range<Int>) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: self[range]) }
}

/// A static string's bytes, which live as long as the program.
private func bytes(_ s: StaticString) -> UnsafeRawBufferPointer {
    UnsafeRawBufferPointer(start: UnsafeRawPointer(s.utf8Start), count: s.utf8CodeUnitCount)
}
