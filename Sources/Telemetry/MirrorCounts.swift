// What a route's mirroring counted: mirrored requests by result, mismatches by kind (the canary arm's shard holds them).

/// How one mirrored (or not mirrored) request ended, as the `result` label of
/// `canarygate_mirror_requests_total` names it.
public enum MirrorResult: Int, CaseIterable, Sendable {
    /// Both responses arrived and were compared.
    case completed
    /// No mirror slot was free on the loop: not sent (never queued).
    case dropped
    /// Not compared: the request's body was not wholly in hand (or too large), or the primary's exchange
    /// did not complete (the client went away, the primary failed).
    case skipped
    /// The canary's exchange failed (connect, reset, invalid response).
    case failed
    /// The canary did not answer within the route's upstream timeouts.
    case timeout

    public var label: String {
        switch self {
        case .completed: "completed"
        case .dropped: "dropped"
        case .skipped: "skipped"
        case .failed: "failed"
        case .timeout: "timeout"
        }
    }
}

/// A difference between the primary's and the canary's responses to one mirrored request, as the
/// `kind` label of `canarygate_mirror_mismatches_total` names it.
public enum MirrorMismatch: Int, CaseIterable, Sendable {
    case status
    /// The body, or a compared header field, differs.
    case body
    case latency

    public var label: String {
        switch self {
        case .status: "status"
        case .body: "body"
        case .latency: "latency"
        }
    }

    /// The cell of this kind in `ArmShard.mirror`, after the results'.
    var cell: Int { MirrorResult.allCases.count + rawValue }
}

/// The mirror counters of one arm (only a canary's are ever non-zero), summed over the loops at one
/// moment, or the difference of two such moments.
public struct MirrorCounts: Sendable, Equatable {
    /// By `MirrorResult.rawValue`.
    public var results: [UInt64]
    /// By `MirrorMismatch.rawValue`.
    public var mismatches: [UInt64]
    /// Completed mirrors with at least one mismatch (each counted once, whatever its kinds).
    public var mismatched: UInt64

    public init(results: [UInt64] = [], mismatches: [UInt64] = [], mismatched: UInt64 = 0) {
        self.results = Self.padded(results, MirrorResult.allCases.count)
        self.mismatches = Self.padded(mismatches, MirrorMismatch.allCases.count)
        self.mismatched = mismatched
    }

    public subscript(result: MirrorResult) -> UInt64 { results[result.rawValue] }
    public subscript(kind: MirrorMismatch) -> UInt64 { mismatches[kind.rawValue] }

    /// What happened after `earlier`; counters never go down (swapped snapshots give 0).
    public func delta(since earlier: MirrorCounts) -> MirrorCounts {
        MirrorCounts(
            results: zip(results, earlier.results).map { ArmSnapshot.difference($0, $1) },
            mismatches: zip(mismatches, earlier.mismatches).map { ArmSnapshot.difference($0, $1) },
            mismatched: ArmSnapshot.difference(mismatched, earlier.mismatched))
    }

    private static func padded(_ values: [UInt64], _ count: Int) -> [UInt64] {
        Array(values.prefix(count)) + Array(repeating: 0, count: max(0, count - values.count))
    }
}

/// Appends `canarygate_mirror_requests_total{route,result}` and `canarygate_mirror_mismatches_total{route,kind}`
/// for the routes of `snapshot` named in `mirrored` (the routes with a `mirror` section), every label at 0 too.
public func renderMirrorMetrics(_ snapshot: MetricsSnapshot, mirrored: Set<String>, into writer: inout PrometheusWriter) {
    let routes = snapshot.routes.filter { mirrored.contains($0.name) }
    guard !routes.isEmpty else { return }
    writer.family(
        "canarygate_mirror_requests_total", type: .counter, help: "Requests chosen for mirroring to the canary, by how the mirror ended.")
    for route in routes {
        for result in MirrorResult.allCases {
            writer.sample(
                "canarygate_mirror_requests_total", [("route", route.name), ("result", result.label)], route.canary.mirror[result])
        }
    }
    writer.family(
        "canarygate_mirror_mismatches_total", type: .counter,
        help: "Completed mirrors whose canary response differed from the primary's, by kind (one mirror may count several kinds).")
    for route in routes {
        for kind in MirrorMismatch.allCases {
            writer.sample("canarygate_mirror_mismatches_total", [("route", route.name), ("kind", kind.label)], route.canary.mirror[kind])
        }
    }
}
