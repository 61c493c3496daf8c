// Renders the per-route, per-arm families of /metrics from a snapshot.

/// The `le` bounds (seconds) of the exported `canarygate_request_duration_seconds` buckets, `+Inf`
/// aside. They are not fine-bucket boundaries (decimal fractions of a second never are powers-of-two
/// multiples of a nanosecond), so each is cut at the nearest fine boundary, as
/// `HistogramSnapshot.cumulative(atOrBelow:)` does: a latency within 0.78125 % of a bound may be
/// counted on the other side of it. `le="60"` holds everything up to 60.129542144 s; only the
/// overflow bucket is above it.
public enum ExportedLatencyBuckets {
    public static let bounds: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

    /// For each bound, how many leading fine buckets it covers (computed once, off the data path).
    static let fineBucketEnds: [Int] = bounds.map(HistogramSnapshot.bucketsAtOrBelow)

    /// The cumulative counts at each bound, in one pass over the fine buckets.
    static func cumulativeCounts(_ histogram: HistogramSnapshot) -> [UInt64] {
        var result: [UInt64] = []
        result.reserveCapacity(bounds.count)
        var running: UInt64 = 0
        var fine = 0
        for end in fineBucketEnds {
            while fine < end {
                running &+= histogram.counts[fine]
                fine += 1
            }
            result.append(running)
        }
        return result
    }
}

/// Appends, for every route and arm of `snapshot` (labels `route`, `arm`): requests by status code,
/// the latency histogram, upstream failures by source, downstream aborts, bytes received and sent,
/// requests in flight. Each family is written once, contiguous. Costs O(fine buckets × series).
///
/// A status outside 100...599 is exported as `code="other"`. Failure sources are exported even at 0,
/// so that `rate()` sees a series from the first scrape; status codes only once seen.
public func renderRouteMetrics(_ snapshot: MetricsSnapshot, into writer: inout PrometheusWriter) {
    let series: [(labels: [(String, String)], arm: ArmSnapshot)] = snapshot.routes.flatMap { route in
        Arm.allCases.map { arm in ([("route", route.name), ("arm", arm.label)], route[arm]) }
    }

    writer.family("canarygate_requests_total", type: .counter, help: "Responses sent to clients, by HTTP status code.")
    for (labels, arm) in series {
        for status in arm.requestsByStatus.keys.sorted() {
            writer.sample("canarygate_requests_total", labels + [("code", String(status))], arm.requestsByStatus[status] ?? 0)
        }
        if arm.otherStatusRequests != 0 {
            writer.sample("canarygate_requests_total", labels + [("code", "other")], arm.otherStatusRequests)
        }
    }

    let duration = "canarygate_request_duration_seconds"
    writer.family(duration, type: .histogram, help: "Time from the request head parsed to the last response byte sent.")
    for (labels, arm) in series {
        let cumulative = ExportedLatencyBuckets.cumulativeCounts(arm.histogram)
        for (bound, count) in zip(ExportedLatencyBuckets.bounds, cumulative) {
            writer.sample(duration + "_bucket", labels + [("le", PrometheusWriter.formatFloat(bound))], count)
        }
        writer.sample(duration + "_bucket", labels + [("le", "+Inf")], arm.histogram.count)
        writer.sample(duration + "_sum", labels, nanosecondsAsSeconds: arm.histogram.sumNanoseconds)
        writer.sample(duration + "_count", labels, arm.histogram.count)
    }

    writer.family("canarygate_upstream_failures_total", type: .counter, help: "Failed exchanges with the arm's upstream, by source.")
    for (labels, arm) in series {
        for kind in FailureKind.allCases where kind.isUpstream {
            writer.sample("canarygate_upstream_failures_total", labels + [("source", kind.label)], arm.failureCount(kind))
        }
    }

    /// A family of one counter per route and arm.
    func counter(_ name: String, help: String, _ value: (ArmSnapshot) -> UInt64) {
        writer.family(name, type: .counter, help: help)
        for (labels, arm) in series { writer.sample(name, labels, value(arm)) }
    }
    counter("canarygate_downstream_aborts_total", help: "Requests abandoned by the client before the response was complete.") {
        $0.failureCount(.downstreamAbort)
    }
    counter(
        "canarygate_slow_in_flight_total",
        help: "Requests of a managed route found still in flight past the judges' slow threshold, counted then (once each)."
    ) {
        $0.slowInFlight
    }
    counter(
        "canarygate_slow_in_flight_answered_total",
        help: "Requests counted in canarygate_slow_in_flight_total that then got a response (also in the duration histogram)."
    ) {
        $0.slowMarkedAnswered
    }
    counter(
        "canarygate_retried_failures_total",
        help: "Responses without a 5xx whose request had a failed attempt hidden by a retry; the judges count them as failed."
    ) {
        $0.retriedFailures
    }
    counter("canarygate_retries_total", help: "Attempts sent again, to the same arm, after a failure.") { $0.retries }
    counter(
        "canarygate_endpoint_ejections_total",
        help: "Times an endpoint of the arm was taken out of rotation by outlier detection (per loop)."
    ) { $0.ejections }
    counter("canarygate_received_bytes_total", help: "Request bytes received from clients, counted when the response is complete.") {
        $0.bytesFromClient
    }
    counter("canarygate_sent_bytes_total", help: "Response bytes sent to clients, counted when the response is complete.") {
        $0.bytesToClient
    }

    writer.family("canarygate_requests_in_flight", type: .gauge, help: "Requests started and not yet answered or aborted.")
    for (labels, arm) in series {
        writer.sample("canarygate_requests_in_flight", labels, arm.inFlight)
    }
    renderTunnelMetrics(series, into: &writer)
}

/// The tunnels (Upgrade, extended CONNECT) of each route and arm: open now, and how long the ended ones lived.
private func renderTunnelMetrics(_ series: [(labels: [(String, String)], arm: ArmSnapshot)], into writer: inout PrometheusWriter) {
    writer.family("canarygate_tunnels_active", type: .gauge, help: "Tunnels open (after a 101 or an extended CONNECT's 200).")
    for (labels, arm) in series { writer.sample("canarygate_tunnels_active", labels, arm.tunnelsActive) }
    let duration = "canarygate_tunnel_duration_seconds"
    writer.family(duration, type: .summary, help: "Lives of the tunnels that ended, from the switch of protocols to the close.")
    for (labels, arm) in series {
        writer.sample(duration + "_sum", labels, nanosecondsAsSeconds: arm.tunnelDurationNanoseconds)
        writer.sample(duration + "_count", labels, arm.tunnelsEnded)
    }
}
