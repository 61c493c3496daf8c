// A route's live canary weight: static routes fix it, the rollout controller moves it for managed routes.
import Synchronization

/// Read by the loops once per request (a relaxed load: a plain load on x86), written by the control thread.
public final class WeightCell: Sendable {
    private let value: Atomic<Int>

    public init(_ weight: Int) { value = Atomic(weight) }

    @inline(__always) public var weight: Int { value.load(ordering: .relaxed) }

    public func set(_ weight: Int) { value.store(min(100, max(0, weight)), ordering: .relaxed) }
}

/// The cells of managed routes by route name, so a rollout's weight survives config reloads.
public final class WeightRegistry: Sendable {
    private let cells = Mutex<[String: WeightCell]>([:])

    public init() {}

    public func cell(route: String) -> WeightCell {
        cells.withLock { cells in
            if let existing = cells[route] { return existing }
            let cell = WeightCell(0)
            cells[route] = cell
            return cell
        }
    }
}
