// Cell-by-cell combinations of snapshots: the sum of several replicas' counters, and one series' high-water mark.

/// Every snapshot has the same cells (the histogram's bucket layout is fixed by `LatencyBuckets`, the
/// mirror arrays by their enums, absent map keys are zero), so two snapshots combine cell by cell.
/// The combination of a cell with zero must be the cell itself (true of `+` and `max`), which lets a
/// key present in only one map keep its value.
extension HistogramSnapshot {
    /// Everything recorded in either histogram; the same as `merged(with:)`.
    public static func + (lhs: HistogramSnapshot, rhs: HistogramSnapshot) -> HistogramSnapshot { lhs.merged(with: rhs) }

    func combined(with other: HistogramSnapshot, _ cell: (UInt64, UInt64) -> UInt64) -> HistogramSnapshot {
        // Most of the 1652 buckets are empty, and a cell combined with zero is itself: only `other`'s
        // non-empty buckets need the combination (the leader combines thousands of arms per look).
        var combinedCounts = counts
        for index in other.counts.indices where other.counts[index] != 0 {
            combinedCounts[index] = cell(counts[index], other.counts[index])
        }
        return HistogramSnapshot(counts: combinedCounts, sumNanoseconds: cell(sumNanoseconds, other.sumNanoseconds))
    }
}

extension MirrorCounts {
    /// Both arms' (or both replicas') mirrors together.
    public static func + (lhs: MirrorCounts, rhs: MirrorCounts) -> MirrorCounts { lhs.combined(with: rhs, &+) }

    func combined(with other: MirrorCounts, _ cell: (UInt64, UInt64) -> UInt64) -> MirrorCounts {
        MirrorCounts(
            results: zip(results, other.results).map(cell), mismatches: zip(mismatches, other.mismatches).map(cell),
            mismatched: cell(mismatched, other.mismatched))
    }
}

extension ArmSnapshot {
    /// The counters of two replicas (or two disjoint sets of loops) of one arm, as if one process had
    /// counted them all. The gauges add too: requests in flight here plus requests in flight there.
    ///
    /// Addition commutes with `delta(since:)` for series that only grow:
    /// `(a₂ + b₂).delta(since: a₁ + b₁) == a₂.delta(since: a₁) + b₂.delta(since: b₁)`.
    public static func + (lhs: ArmSnapshot, rhs: ArmSnapshot) -> ArmSnapshot {
        lhs.combined(with: rhs, counter: &+, gauge: &+)
    }

    /// The larger of each counter of two snapshots of one series, with `later`'s gauges.
    ///
    /// Every cell of a series only grows (`MetricsRegistry.snapshot` promises each cell is at least its
    /// value in any earlier snapshot), so for snapshots that arrive in order this is simply `later`; a
    /// stale snapshot delivered late cannot make a counter go back, which would make the next
    /// `delta(since:)` count the difference twice.
    public func highWater(with later: ArmSnapshot) -> ArmSnapshot {
        combined(with: later, counter: max, gauge: { _, latest in latest })
    }

    func combined(
        with other: ArmSnapshot, counter: (UInt64, UInt64) -> UInt64, gauge: (Int64, Int64) -> Int64
    ) -> ArmSnapshot {
        ArmSnapshot(
            requestsByStatus: requestsByStatus.merging(other.requestsByStatus, uniquingKeysWith: counter),
            otherStatusRequests: counter(otherStatusRequests, other.otherStatusRequests),
            failures: failures.merging(other.failures, uniquingKeysWith: counter),
            bytesFromClient: counter(bytesFromClient, other.bytesFromClient),
            bytesToClient: counter(bytesToClient, other.bytesToClient),
            inFlight: gauge(inFlight, other.inFlight),
            histogram: histogram.combined(with: other.histogram, counter),
            slowInFlight: counter(slowInFlight, other.slowInFlight),
            slowMarkedAnswered: counter(slowMarkedAnswered, other.slowMarkedAnswered),
            retriedFailures: counter(retriedFailures, other.retriedFailures),
            retries: counter(retries, other.retries),
            ejections: counter(ejections, other.ejections),
            tunnelsActive: gauge(tunnelsActive, other.tunnelsActive),
            tunnelsEnded: counter(tunnelsEnded, other.tunnelsEnded),
            tunnelDurationNanoseconds: counter(tunnelDurationNanoseconds, other.tunnelDurationNanoseconds),
            mirror: mirror.combined(with: other.mirror, counter)
        )
    }
}

extension RouteSnapshot {
    /// Both arms summed; the name is `lhs`'s (callers sum snapshots of one route).
    public static func + (lhs: RouteSnapshot, rhs: RouteSnapshot) -> RouteSnapshot {
        RouteSnapshot(name: lhs.name, primary: lhs.primary + rhs.primary, canary: lhs.canary + rhs.canary)
    }

    /// Both arms' high-water marks (see `ArmSnapshot.highWater(with:)`); the name is `self`'s.
    public func highWater(with later: RouteSnapshot) -> RouteSnapshot {
        RouteSnapshot(name: name, primary: primary.highWater(with: later.primary), canary: canary.highWater(with: later.canary))
    }
}
