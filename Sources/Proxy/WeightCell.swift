// A route's live canary weight: static routes fix it, the rollout controller moves it for managed routes.
import Synchronization

/// Read by the loops once per request (a relaxed load: a plain load on x86), written by the control thread.
public final class WeightCell: Sendable {
    private let value: Atomic<Int>
    private let live = Atomic<Bool>(false)

    public init(_ weight: Int) { value = Atomic(weight) }

    @inline(__always) public var weight: Int { value.load(ordering: .relaxed) }

    public func set(_ weight: Int) { value.store(min(100, max(0, weight)), ordering: .relaxed) }

    /// The rollout keeps the canary live at weight 0: it serves its cohort (A/B iterations) or its
    /// mirrored copies (blue/green) but no share of the rest. Read only where weight is 0.
    @inline(__always) public var liveAtZero: Bool { live.load(ordering: .relaxed) }

    public func setLiveAtZero(_ isLive: Bool) { live.store(isLive, ordering: .relaxed) }
}

/// A managed route's slow threshold T in nanoseconds (0: none), published by the control thread on
/// every tick and read by each loop's in-flight sweep every 100 ms (not per request).
public final class SlowThresholdCell: Sendable {
    private let value = Atomic<UInt64>(0)

    public init() {}

    @inline(__always) public var nanoseconds: UInt64 { value.load(ordering: .relaxed) }

    /// `seconds` nil or not positive: no threshold (nothing is marked).
    public func set(seconds: Double?) {
        guard let seconds, seconds > 0, seconds.isFinite else { return value.store(0, ordering: .relaxed) }
        value.store(UInt64(min(seconds, 1e9) * 1e9), ordering: .relaxed)
    }
}

/// The cells of managed routes by route name, so a rollout's weight (and slow threshold) survives config reloads.
public final class WeightRegistry: Sendable {
    private let cells = Mutex<[String: WeightCell]>([:])
    private let slowCells = Mutex<[String: SlowThresholdCell]>([:])

    public init() {}

    public func cell(route: String) -> WeightCell {
        cells.withLock { cells in
            if let existing = cells[route] { return existing }
            let cell = WeightCell(0)
            cells[route] = cell
            return cell
        }
    }

    public func slowThresholdCell(route: String) -> SlowThresholdCell {
        slowCells.withLock { cells in
            if let existing = cells[route] { return existing }
            let cell = SlowThresholdCell()
            cells[route] = cell
            return cell
        }
    }
}
