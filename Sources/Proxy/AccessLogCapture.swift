// The request fields an access-log line needs, copied from the head when the request is routed, kept until it ends.
import HTTP
import Telemetry

/// By the time a request ends, its head's bytes are gone (an HTTP/1.1 buffer is reused for the body,
/// an HTTP/2 stream's field scratch is given back once the upstream head is written). The fields a line
/// shows are copied, each cut to its budget, into the capture's own storage.
///
/// A class, kept by the loop's logger between requests (`AccessLogger.capture`/`write`: no allocation
/// in steady state), so that an exchange holds one optional reference: with the log off, the test of a
/// nil pointer is all a request pays where it ends. Held by value, the capture was copied out of the
/// exchange at every end, logged or not: ~150 instructions per request (callgrind).
final class AccessLogCapture {
    /// The loop's logger, which outlives every request of its loop.
    unowned(unsafe) let logger: AccessLogger
    private static let capacity =
        AccessLogLine.Budget.client + AccessLogLine.Budget.method + AccessLogLine.Budget.target + 2 * AccessLogLine.Budget.header
    private let storage = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 8)
    private var used = 0
    private var client = 0..<0
    private var method = 0..<0
    private var target = 0..<0
    private var referer: Range<Int>?
    private var userAgent: Range<Int>?
    private(set) var proto: StaticString = "HTTP/1.1"
    private(set) var startedAt: UInt64 = 0
    /// The routed arm's text (nil: not routed), kept alive by the route, which the request's snapshot keeps.
    private(set) var armText: AccessLogText?
    /// The endpoint first chosen; a retry on another endpoint is told at the end (`endpoint` there).
    private(set) var pool: UpstreamPool?

    init(logger: AccessLogger) { self.logger = logger }

    deinit { storage.deallocate() }

    /// Starts over for a request: copies what the line shows of `view` (nil: refused before it had a
    /// head), its full `target` (query included) and `client`.
    func start(_ view: RequestView?, target: UnsafeRawBufferPointer, client: UnsafeRawBufferPointer, proto: StaticString, now: UInt64) {
        used = 0
        self.proto = proto
        startedAt = now
        armText = nil
        self.client = copy(client, limit: AccessLogLine.Budget.client)
        guard let view else {
            method = used..<used
            self.target = used..<used
            referer = nil
            userAgent = nil
            return
        }
        method = copy(view.methodName, limit: AccessLogLine.Budget.method)
        self.target = copy(target, limit: AccessLogLine.Budget.target)
        referer = nil
        userAgent = nil
        // One pass over the fields for both (the first of each, as `RequestView.field` would give).
        view.forEachField { name, value in
            if name.count == 7, referer == nil, Self.isReferer(name) {
                referer = copy(value, limit: AccessLogLine.Budget.header)
            } else if name.count == 10, userAgent == nil, Self.isUserAgent(name) {
                userAgent = copy(value, limit: AccessLogLine.Budget.header)
            }
        }
    }

    // The two names are compared ignoring ASCII case as two overlapping little-endian words each, not
    // byte by byte (~170 instructions a request): a word's letters are folded by setting their 0x20 bit,
    // which makes an upper-case letter its lower-case one and nothing else that one; the mask leaves the
    // `-` of user-agent alone, so that only `-` matches it.

    /// `name`, 7 bytes long, is `referer` in any case: "refe" and "erer".
    static func isReferer(_ name: UnsafeRawBufferPointer) -> Bool {
        let p = name.baseAddress!
        return UInt32(littleEndian: p.loadUnaligned(as: UInt32.self)) | 0x2020_2020 == 0x6566_6572
            && UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 3, as: UInt32.self)) | 0x2020_2020 == 0x7265_7265
    }

    /// `name`, 10 bytes long, is `user-agent` in any case: "user-age" and "er-agent".
    static func isUserAgent(_ name: UnsafeRawBufferPointer) -> Bool {
        let p = name.baseAddress!
        return UInt64(littleEndian: p.loadUnaligned(as: UInt64.self)) | 0x2020_2000_2020_2020 == 0x6567_612D_7265_7375
            && UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 2, as: UInt64.self)) | 0x2020_2020_2000_2020 == 0x746E_6567_612D_7265
    }

    private func copy(_ bytes: UnsafeRawBufferPointer, limit: Int) -> Range<Int> {
        let n = min(bytes.count, limit)
        if n > 0 { (storage + used).copyMemory(from: bytes.baseAddress!, byteCount: n) }
        used += n
        return used - n..<used
    }

    /// The request was given `decision`'s route, arm and endpoint.
    func routed(_ decision: RouteDecision) {
        switch decision.arm {
        case .primary: armText = decision.route.primaryLogText.text
        case .canary: armText = decision.route.canaryLogText?.text
        }
        pool = decision.pool
    }

    /// The request ended: its line is written (see `AccessLogger.write`) and the capture goes back to the logger.
    func end(status: Int?, failure: String?, bytesToClient: UInt64, endpoint: UpstreamPool?, now: UInt64) {
        logger.write(self, status: status, failure: failure, bytesToClient: bytesToClient, endpoint: endpoint, now: now)
    }

    /// Lets go of the request's route and endpoint before the capture waits for its next request.
    func clear() {
        armText = nil
        pool = nil
    }

    /// The line's fields for an end at `now` with `status` (nil: the client went away), the upstream
    /// `failure` or the proxy's refusal `reason`; `endpoint` is the pool that served the last attempt, if known.
    func withEntry(
        status: Int?, failure: String?, bytesToClient: UInt64, endpoint: UpstreamPool?, now: UInt64, unixMilliseconds: Int64,
        _ body: (AccessLogEntry) -> Void
    ) {
        let bytes = UnsafeRawBufferPointer(start: storage, count: used)
        body(
            AccessLogEntry(
                unixMilliseconds: unixMilliseconds, client: bytes.slice(client), method: bytes.slice(method), target: bytes.slice(target),
                proto: proto, referer: referer.map { bytes.slice($0) }, userAgent: userAgent.map { bytes.slice($0) },
                status: status ?? AccessLogEntry.abortStatus, bytesToClient: bytesToClient, durationNanoseconds: now &- startedAt,
                arm: armText ?? AccessLogFragment.unrouted.text, upstream: (endpoint ?? pool)?.endpointLogText.text,
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
