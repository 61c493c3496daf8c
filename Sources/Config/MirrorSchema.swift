// A route's `mirror` section as plain values: which requests are copied to the canary and how the two responses are compared.

/// `routes[].mirror`: a share of the requests the primary serves is also sent to the canary, whose
/// response no client waits for; it is measured like canary traffic and compared with the primary's.
/// Only valid on a route with a canary.
public struct MirrorConfig: Sendable, Equatable {
    /// Percent of the primary's eligible requests copied, 0...100.
    public var weight = 100
    /// Entries shaped like `canary.match`: a request matching one is eligible whatever its method.
    /// Without a match only safe methods (GET, HEAD, OPTIONS, TRACE) are: a copied write would be done twice.
    public var match: [CohortEntry] = []
    /// Request bodies larger than this are not mirrored; responses are compared on at most this many
    /// body bytes (and a hash and the length of the rest).
    public var maxBodyBytes = 64 * 1024
    /// Mirrored requests in flight per event loop; a mirror finding none free is dropped, never queued.
    public var maxInFlight = 64
    public var compare = MirrorCompareConfig()
    /// The mismatch judge fails an interval whose mirrors mismatched more often than this, in percent.
    public var maxMismatchPercent = 5.0
    public init() {}
}

/// `routes[].mirror.compare`: what counts as a difference between the primary's and the canary's responses.
public struct MirrorCompareConfig: Sendable, Equatable {
    /// Compare status codes (kind `status`).
    public var status = true
    /// Compare bodies and the response header fields (kind `body`).
    public var body = true
    /// Compare latencies (kind `latency`): the mirror is late when slower than
    /// max(`latencyRatio` × primary, primary + `latencyFloor`).
    public var latency = true
    public var latencyRatio = 2.0
    public var latencyFloor: Duration = .milliseconds(50)
    /// Response header fields left out of the comparison, lower-case. Hop-by-hop fields, framing
    /// fields (Content-Length, Transfer-Encoding) and Date are never compared.
    public var ignoreHeaders: [String] = []
    /// JSON members left out of the body comparison, as dotted paths from the top-level object
    /// (`meta.requestId`). Used when both responses' Content-Type is JSON.
    public var ignoreJSONFields: [String] = []
    public init() {}
}

/// What the mismatch judge of a managed route is given of its route's `mirror` (set from it when the
/// route is decoded, as the judges are built from `analysis` alone).
public struct MirrorJudgeConfig: Sendable, Equatable {
    public var maxMismatchPercent: Double
    public init(maxMismatchPercent: Double) { self.maxMismatchPercent = maxMismatchPercent }
}
