// What a TestUpstream records about each request and how a test tells it to answer.
import Foundation

/// A request as the upstream received it. Handlers see it before the body is read (body fields
/// empty); `TestUpstream.requests` holds it complete.
struct RecordedRequest: Sendable {
    /// Which accepted TCP connection carried it (1, 2, …): proves keep-alive reuse.
    var connectionID: Int
    /// 1 for the first request on its connection.
    var indexOnConnection: Int
    var method: String
    var target: String
    var version: String
    var headers: [HTTPField]
    var framing: BodyFraming = .none
    /// Body bytes received (all of them, whatever was kept).
    var bodyCount = 0
    /// The first `TestUpstream.keptBodyBytes` bytes of the body.
    var body: [UInt8] = []
    /// Whether the body so far equals `BodyPattern` (meaningful for pattern uploads).
    var bodyMatchesPattern = true
    var trailers: [HTTPField] = []
    /// False when the connection ended before the whole body arrived.
    var complete = false

    var bodyText: String { body.text }
    /// The target's path without the query.
    var path: String { String(target.split(separator: "?", maxSplits: 1).first ?? "") }
}

/// A response body, and how it is framed on the wire.
enum UpstreamBody: Sendable {
    /// Content-Length framed (the header is added unless the test set one).
    case fixed([UInt8])
    /// Transfer-Encoding: chunked, one chunk per piece.
    case chunked([[UInt8]])
    /// No length at all: the body ends when the upstream closes the connection.
    case closeDelimited([UInt8])
    /// `count` bytes of `BodyPattern`, generated while sending; Content-Length or chunked.
    case pattern(count: Int, chunked: Bool)
    /// No body and no framing header added (HEAD, 204, 304; set Content-Length by hand if wanted).
    case none
    /// The request body sent back: `.contentLength` (read fully first), `.chunked` or `.untilClose`
    /// (streamed back as it is read).
    case echo(BodyFraming)
}

/// What the upstream does with the connection after a response.
enum AfterResponse: Sendable, Equatable {
    /// Wait for the next request.
    case keepAlive
    /// Close (FIN) right after the response.
    case close
    /// Keep it open this many seconds without reading, then close: a pooled connection going stale.
    case closeAfter(Double)
}

/// Pause reading the request body once `afterBytes` have arrived (back-pressure checks).
struct ReadPause: Sendable {
    var afterBytes: Int
    var seconds: Double
}

struct UpstreamResponse: Sendable {
    var status = 200
    var reason: String?
    var headers: [HTTPField] = []
    var body: UpstreamBody = .fixed([])
    /// Seconds to wait (after reading the request) before sending anything.
    var delay: Double = 0
    var after: AfterResponse = .keepAlive
    var pauseReading: ReadPause?

    init(
        status: Int = 200, reason: String? = nil, headers: [HTTPField] = [], body: UpstreamBody = .fixed([]),
        delay: Double = 0, after: AfterResponse = .keepAlive, pauseReading: ReadPause? = nil
    ) {
        self.status = status; self.reason = reason; self.headers = headers; self.body = body
        self.delay = delay; self.after = after; self.pauseReading = pauseReading
    }

    static func text(_ text: String, status: Int = 200, headers: [HTTPField] = []) -> UpstreamResponse {
        UpstreamResponse(
            status: status, headers: [HTTPField("Content-Type", "text/plain")] + headers,
            body: .fixed(text.bytes))
    }
}

enum UpstreamAction: Sendable {
    case respond(UpstreamResponse)
    /// Read the request, then close with SO_LINGER 0 (the proxy sees ECONNRESET).
    case reset
    /// Read the request, send these bytes verbatim, then close.
    case raw([UInt8])
    /// Read the request, then close without a word.
    case close
    /// Read the request and never answer: hold the connection until the peer closes it (counted in
    /// `TestUpstream.hangsEndedByPeer`), the upstream stops, or `seconds` pass.
    case hang(seconds: Double)

    static func text(_ text: String, status: Int = 200, headers: [HTTPField] = []) -> UpstreamAction {
        .respond(.text(text, status: status, headers: headers))
    }
}

typealias UpstreamHandler = @Sendable (RecordedRequest) -> UpstreamAction
